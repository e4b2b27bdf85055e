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

const ISO = (column: string) =>
  `regexp_replace(to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '(\\.\\d{3})000Z$', '\\1Z')`

const EVENT_JSON = `json_build_object(
  'topic', topic, 'event_id', event_id, 'timestamp', ${ISO('ts')}, 'source', source,
  'payload', payload, 'received_at', ${ISO('received_at')})`

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
 * The page is bounded by count and by bytes: a recursive walk takes one event at a time in
 * (xid, seq) order, by `events_xid_seq` or `events_topic_xid_seq`, and stops at the first event
 * that would take the page past the bound (a page holds at least one event, however large). So
 * PostgreSQL builds at most one event beyond the page, and sends none. `bytes` counts each event
 * with the comma or bracket that follows it in the array.
 */
function statement(byTopic: boolean): string {
  // Per topic, every bound is a row comparison led by the topic, which only events_topic_xid_seq
  // serves: given `topic = $5`, a generic plan may walk events_xid_seq instead, filtering its way
  // past every other topic's events.
  const key = byTopic ? 'topic, xid, seq' : 'xid, seq'
  const after = (xid: string, seq: string) => `(${key}) > (${byTopic ? '$5, ' : ''}${xid}, ${seq})`
  const horizon = (op: string) =>
    byTopic
      ? `(topic, xid) ${op} ($5, (SELECT below FROM horizon))`
      : `xid ${op} (SELECT below FROM horizon)`
  const next = (xid: string, seq: string) =>
    `SELECT xid, seq, (${EVENT_JSON})::text AS json FROM events
     WHERE ${after(xid, seq)} AND ${horizon('<')}
     ORDER BY ${key} LIMIT 1`
  return `
    WITH RECURSIVE horizon AS MATERIALIZED (
      SELECT pg_snapshot_xmin(pg_current_snapshot()) AS below
    ), walk AS (
      SELECT first.xid, first.seq, first.json, 1 AS n, octet_length(first.json) + 1 AS bytes
      FROM (${next('$1::xid8', '$2::bigint')}) first
      UNION ALL
      SELECT step.xid, step.seq, step.json, walk.n + 1, walk.bytes + octet_length(step.json) + 1
      FROM walk, LATERAL (${next('walk.xid', 'walk.seq')}) step
      WHERE walk.n < $3 AND walk.bytes + 1 <= $4
    )
    SELECT page.xid::text AS xid, page.seq::text AS seq,
           CASE WHEN page.kept THEN page.json END AS json, page.kept, page.full,
           -- the first event at or above the horizon, in index order (EXISTS may scan the table)
           (SELECT ${byTopic ? 'topic = $5' : 'true'} FROM events
            WHERE ${after('$1::xid8', '$2::bigint')} AND ${horizon('>=')}
            ORDER BY ${key} LIMIT 1) IS TRUE AS held
    FROM (VALUES (1)) AS one
    LEFT JOIN (SELECT xid, seq, json, n = 1 OR bytes + 1 <= $4 AS kept, bytes + 1 > $4 AS full
               FROM walk) page ON true
    ORDER BY page.xid, page.seq`
}

export const FEED_ALL_TOPICS = statement(false)
export const FEED_ONE_TOPIC = statement(true)

interface PageRow {
  xid: string | null
  seq: string | null
  json: string | null
  kept: boolean | null
  /** The page reached its byte bound with this event, kept (alone) or left out. */
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
  const rows =
    topic === null
      ? await sql.unsafe<PageRow[]>(FEED_ALL_TOPICS, common)
      : await sql.unsafe<PageRow[]>(FEED_ONE_TOPIC, [...common, topic])
  const page: FeedRow[] = []
  let cut = false
  for (const row of rows) {
    if (row.kept === true) page.push({ xid: row.xid!, seq: row.seq!, json: row.json! })
    if (row.full === true) cut = true
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
