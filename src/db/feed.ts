/**
 * The feed's SQL. Every row carries the id of the transaction that stored it (`xid`, migration
 * 3). A read serves only rows whose transaction is below the xmin of its own snapshot: every
 * transaction below it has ended, so no row can ever appear there later, and a cursor (the
 * (xid, seq) of the last row served) never has a row appear behind it. Rows committed above the
 * horizon wait until every older transaction has ended: a long transaction anywhere in the
 * cluster delays the feed, never loses a row.
 *
 * Commits are announced across replicas with NOTIFY on one channel (a database's own).
 */
import type { Sql } from './connect.js'

/**
 * A time as ISO 8601 in UTC: milliseconds when the microseconds beyond them are zero (as published
 * times are), microseconds otherwise. Choosing the format by CASE was measured at about half the
 * cost of trimming "000" off the longer form with a regular expression.
 */
const ISO = (column: string) => {
  const utc = `(${column} AT TIME ZONE 'UTC')`
  return `CASE WHEN date_part('microseconds', ${utc})::int % 1000 = 0
    THEN to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
    ELSE to_char(${utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END`
}

/**
 * The event as JSON, put together as text: `to_json` escapes each string as `json_build_object`
 * would, and a json payload is its own text, as published (src/ingest/body-scan.ts). Measured at
 * two thirds of the cost of `json_build_object` (a page of 1,000 events read in 6.6 ms instead of
 * 8.6), and 17 bytes an event shorter (no spaces around its colons and after its commas).
 */
const EVENT_JSON = `'{"topic":' || to_json(topic) || ',"event_id":' || to_json(event_id)
  || ',"timestamp":"' || ${ISO('ts')} || '","source":' || to_json(source)
  || ',"payload":' || payload::text || ',"received_at":"' || ${ISO('received_at')} || '"}'`

/**
 * The fewest bytes EVENT_JSON can take for a row, from lengths PostgreSQL has without building
 * anything (a json payload is its own text): the keys, quotes and separators with two
 * millisecond times come to 129, and escaping only ever lengthens a string.
 */
const EVENT_JSON_LEAST_BYTES = `129 + octet_length(topic) + octet_length(event_id)
  + octet_length(source) + octet_length(payload::text)`

/** Where a read starts: after this (xid, seq), as decimal text. */
export interface FeedPosition {
  readonly xid: string
  readonly seq: string
}

export interface FeedRow {
  xid: string
  seq: string
  /** The event as `GET /events` lists it, built by PostgreSQL: strings and payloads byte for byte. */
  json: string
}

export interface FeedRead {
  rows: FeedRow[]
  /** The page reached its byte bound: more may follow. */
  cut: boolean
  /** Committed events after the position wait for an older transaction to end. */
  held: boolean
}

/**
 * One statement per form, with the topic or without: a shared `($n IS NULL OR topic = $n)` would
 * scan the whole table once the statement is planned generically. Parameters: $1 xid, $2 seq,
 * $3 limit, $4 bytes, $5 topic.
 *
 * One index range scan, `events_xid_seq` or `events_topic_xid_seq`, takes up to `limit` events in
 * (xid, seq) order; a running sum of each event's least size (EVENT_JSON_LEAST_BYTES) keeps the
 * first ones that fit in `bytes`, and only those are built as JSON (a page holds at least one
 * event, however large). Least sizes make this a superset of what fits: readFeedPage trims the
 * page to its exact size, and PostgreSQL never builds more than a few times the bound (escaped
 * strings). `bytes` counts each event with the comma or bracket that follows it in the array.
 * This was measured at about a third of the cost per event of walking the index one event at a
 * time with a recursive query that built each event to count its bytes.
 */
function statement(byTopic: boolean): string {
  // Per topic, the position is a row comparison led by the topic, which events_xid_seq cannot
  // serve: given only `topic = $5`, a generic plan may walk events_xid_seq, filtering its way past
  // every other topic's events. The page's scan also spells out `topic = $5` and `xid >= $1`
  // (implied by the position) because its generic plan needs them: without them it scanned the
  // topic's whole range of events_topic_event_id_key and sorted it (15 ms a read at 30,000 events
  // a topic, growing with it); with `topic = $5` alone its scan of events_topic_xid_seq started at
  // the topic's first event. The held-back probe keeps to row comparisons: given `xid >= $1`, its
  // generic plan walked events_xid_seq. Qualified: the output's xid and seq are text.
  const key = (byTopic ? ['topic', 'xid', 'seq'] : ['xid', 'seq'])
    .map((c) => `events.${c}`)
    .join(', ')
  const position = `(${key}) > (${byTopic ? '$5, ' : ''}$1::xid8, $2::bigint)`
  const horizon = '(SELECT below FROM horizon)'
  const readable = byTopic
    ? `events.topic = $5 AND events.xid >= $1::xid8 AND ${position} AND events.xid < ${horizon}`
    : `${position} AND events.xid < ${horizon}`
  const heldBack = byTopic
    ? `${position} AND (events.topic, events.xid) >= ($5, ${horizon})`
    : `${position} AND events.xid >= ${horizon}`
  return `
    WITH horizon AS MATERIALIZED (
      SELECT pg_snapshot_xmin(pg_current_snapshot()) AS below
    ), sized AS (
      SELECT events.*, row_number() OVER running AS n,
             sum(${EVENT_JSON_LEAST_BYTES} + 1) OVER running AS bytes
      FROM (SELECT * FROM events WHERE ${readable} ORDER BY ${key} LIMIT $3) events
      WINDOW running AS (ORDER BY events.xid, events.seq ROWS UNBOUNDED PRECEDING)
    ), page AS (
      SELECT *, n = 1 OR bytes + 1 <= $4 AS kept, bool_or(bytes + 1 > $4) OVER () AS full
      FROM sized
    )
    SELECT page.xid::text AS xid, page.seq::text AS seq, ${EVENT_JSON} AS json,
           page.full,
           -- the first event at or above the horizon, in index order (EXISTS may scan the table)
           (SELECT ${byTopic ? 'events.topic = $5' : 'true'} FROM events WHERE ${heldBack}
            ORDER BY ${key} LIMIT 1) IS TRUE AS held
    FROM (VALUES (1)) AS one
    LEFT JOIN (SELECT * FROM page WHERE kept) page ON true
    ORDER BY page.xid, page.seq`
}

export const FEED_ALL_TOPICS = statement(false)
export const FEED_ONE_TOPIC = statement(true)

/** An empty page is one row of nulls but for `held`. */
interface PageRow {
  xid: string | null
  seq: string | null
  json: string | null
  /** Events were left out of the page by its byte bound. */
  full: boolean | null
  held: boolean
}

export async function readFeedPage(
  sql: Sql,
  after: FeedPosition,
  topic: string | null,
  limit: number,
  maxBytes: number,
): Promise<FeedRead> {
  const common = [after.xid, after.seq, limit, maxBytes]
  // prepared: both statements keep index scans as generic plans (test/feed.test.ts)
  const rows =
    topic === null
      ? await sql.unsafe<PageRow[]>(FEED_ALL_TOPICS, common, { prepare: true })
      : await sql.unsafe<PageRow[]>(FEED_ONE_TOPIC, [...common, topic], { prepare: true })
  const page: FeedRow[] = []
  let cut = rows[0]?.full === true
  // the array's opening bracket, then each event with the comma or bracket after it
  let bytes = 1
  for (const row of rows) {
    if (row.xid === null) break
    const json = row.json!
    bytes += Buffer.byteLength(json) + 1
    if (page.length > 0 && bytes > maxBytes) {
      cut = true
      break
    }
    page.push({ xid: row.xid, seq: row.seq!, json })
  }
  return { rows: page, cut, held: rows[0]?.held === true }
}

/**
 * After a dump restored into another cluster, or a cluster rebuilt, transaction ids start again
 * below the ones stored: new events would sort behind cursors already given out and be missed.
 * Returns the highest stored xid when it is not below the next one the cluster will assign.
 */
export async function xidsBehindStored(sql: Sql): Promise<string | null> {
  const [row] = await sql<{ stored: string | null; next: string }[]>`
    SELECT (SELECT xid FROM events ORDER BY xid DESC LIMIT 1)::text AS stored,
           pg_snapshot_xmax(pg_current_snapshot())::text AS next`
  const stored = row?.stored ?? null
  return stored !== null && BigInt(stored) >= BigInt(row!.next) ? stored : null
}

const CHANNEL = 'pubsub_aggregator_commits'

/** Tells every replica on this database that `instance` committed new events. */
export async function announceCommit(sql: Sql, instance: string): Promise<void> {
  await sql.notify(CHANNEL, instance)
}

/**
 * Listens on its own connection, which postgres.js opens again whenever it is lost;
 * `onListening` runs each time listening (re)starts: announcements may have been missed.
 */
export async function listenForCommits(
  sql: Sql,
  onCommit: (instance: string) => void,
  onListening: () => void,
): Promise<() => Promise<void>> {
  const listening = await sql.listen(CHANNEL, onCommit, onListening)
  return () => listening.unlisten()
}
