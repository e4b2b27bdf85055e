/** The read side: pages of stored events and the persisted counters, for the HTTP edge. */
import type {
  CountersSummary,
  EventsPage,
  EventsQuery,
  TopicCounts,
  TopicsQuery,
} from '../read-model.js'
import type { Sql } from './connect.js'

const ISO = (column: string) =>
  `regexp_replace(to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '(\\.\\d{3})000Z$', '\\1Z')`

const EVENT_JSON = `json_build_object(
  'topic', topic, 'event_id', event_id, 'timestamp', ${ISO('ts')}, 'source', source,
  'payload', payload, 'received_at', ${ISO('received_at')})`

/**
 * One page, bounded by count and by bytes: a recursive walk takes one event at a time in `seq`
 * order, by the primary key or `events_topic_seq`, and stops at the first event that would take
 * the page past `maxBytes` (a page holds at least one event, however large). So PostgreSQL
 * builds at most one event beyond the page, and no value larger than the page, whatever the
 * limit and the sizes of the events.
 */
export async function readEvents(sql: Sql, q: EventsQuery, maxBytes: number): Promise<EventsPage> {
  const next = (after: string) =>
    `SELECT seq, (${EVENT_JSON})::text AS json FROM events
     WHERE ($1::text IS NULL OR topic = $1) AND seq > ${after} ORDER BY seq LIMIT 1`
  // `bytes` counts each event with the comma or bracket that follows it in the array; the page
  // is cut (more may follow) once an event, kept alone or left out, reaches the bound
  const [row] = await sql.unsafe<
    { json: string | null; count: number; last: string | null; cut: boolean | null }[]
  >(
    `WITH RECURSIVE walk AS (
       SELECT first.seq, first.json, 1 AS n, octet_length(first.json) + 1 AS bytes
       FROM (${next('$2')}) first
       UNION ALL
       SELECT step.seq, step.json, walk.n + 1, walk.bytes + octet_length(step.json) + 1
       FROM walk, LATERAL (${next('walk.seq')}) step
       WHERE walk.n < $3 AND walk.bytes + 1 <= $4
     )
     SELECT '[' || string_agg(json, ',' ORDER BY seq) FILTER (WHERE kept) || ']' AS json,
            count(*) FILTER (WHERE kept)::int AS count,
            max(seq) FILTER (WHERE kept)::text AS last,
            bool_or(bytes + 1 > $4) AS cut
     FROM (SELECT seq, json, bytes, n = 1 OR bytes + 1 <= $4 AS kept FROM walk) page`,
    [q.topic, q.after, q.limit, maxBytes],
  )
  const count = row?.count ?? 0
  return {
    json: row?.json ?? '[]',
    count,
    lastSeq: row?.last == null ? null : Number(row.last),
    more: count === q.limit || row?.cut === true,
  }
}

/**
 * Totals across every replica and shard, the number of topics, and the `top` most active ones,
 * in one statement so that all of them describe the same moment. Only `top` rows cross the
 * wire, so the answer stays small however many topics there are.
 */
export async function readSummary(sql: Sql, top: number): Promise<CountersSummary> {
  const rows = await sql<SummaryRow[]>`
    WITH per_topic AS MATERIALIZED (
      SELECT topic, sum(unique_processed) AS u, sum(duplicate_dropped) AS d
      FROM counters GROUP BY topic
    ), ranked AS (
      SELECT topic, u, d FROM per_topic ORDER BY u DESC, topic LIMIT ${top}
    )
    SELECT t.topic, t.u::text AS unique, t.d::text AS duplicates, s.topics,
           s.u::text AS total_unique, s.d::text AS total_duplicates,
           r.requests::text AS rejected_requests, r.events::text AS rejected_events
    FROM (SELECT count(*)::int AS topics, coalesce(sum(u), 0) AS u, coalesce(sum(d), 0) AS d
          FROM per_topic) s
    CROSS JOIN (SELECT coalesce(sum(requests), 0) AS requests, coalesce(sum(events), 0) AS events
                FROM rejections) r
    LEFT JOIN ranked t ON true
    ORDER BY t.topic`
  const first = rows[0]!
  return {
    unique: Number(first.total_unique),
    duplicates: Number(first.total_duplicates),
    topicCount: first.topics,
    top: rows.flatMap((r) =>
      r.topic === null
        ? []
        : [{ topic: r.topic, unique: Number(r.unique), duplicates: Number(r.duplicates) }],
    ),
    rejectedRequests: Number(first.rejected_requests),
    rejectedEvents: Number(first.rejected_events),
  }
}

interface SummaryRow {
  topic: string | null
  unique: string
  duplicates: string
  topics: number
  total_unique: string
  total_duplicates: string
  rejected_requests: string
  rejected_events: string
}

/** One page of every topic's counters, in topic (byte) order. */
export async function readTopics(sql: Sql, q: TopicsQuery): Promise<TopicCounts[]> {
  const rows = await sql<{ topic: string; unique: string; duplicates: string }[]>`
    SELECT topic, sum(unique_processed)::text AS unique, sum(duplicate_dropped)::text AS duplicates
    FROM counters WHERE topic > ${q.after} GROUP BY topic ORDER BY topic LIMIT ${q.limit}`
  return rows.map((r) => ({
    topic: r.topic,
    unique: Number(r.unique),
    duplicates: Number(r.duplicates),
  }))
}

/** The counters of the given topics (a few: each is found by `counters_topic`), in topic order. */
export async function readTopicTotals(sql: Sql, topics: string[]): Promise<TopicCounts[]> {
  if (topics.length === 0) return []
  const rows = await sql<{ topic: string; unique: string; duplicates: string }[]>`
    SELECT topic, sum(unique_processed)::text AS unique, sum(duplicate_dropped)::text AS duplicates
    FROM counters WHERE topic = ANY(${topics}::text[]) GROUP BY topic ORDER BY topic`
  return rows.map((r) => ({
    topic: r.topic,
    unique: Number(r.unique),
    duplicates: Number(r.duplicates),
  }))
}

export async function ping(sql: Sql): Promise<void> {
  await sql`SELECT 1`
}
