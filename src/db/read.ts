/** The read side: pages of stored events and the persisted counters, for the HTTP edge. */
import type { EventsPage, EventsQuery, TopicCounts } from '../read-model.js'
import type { Sql } from './connect.js'

const ISO = (column: string) =>
  `regexp_replace(to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), '(\\.\\d{3})000Z$', '\\1Z')`

const EVENT_JSON = `json_build_object(
  'topic', topic, 'event_id', event_id, 'timestamp', ${ISO('ts')}, 'source', source,
  'payload', payload, 'received_at', ${ISO('received_at')})`

export async function readEvents(sql: Sql, q: EventsQuery): Promise<EventsPage> {
  const [row] = await sql.unsafe<{ json: string | null; count: number; last: string | null }[]>(
    `SELECT json_agg(${EVENT_JSON} ORDER BY seq)::text AS json, count(*)::int AS count,
            max(seq)::text AS last
     FROM (SELECT * FROM events
           WHERE ($1::text IS NULL OR topic = $1) AND seq > $2
           ORDER BY seq LIMIT $3) page`,
    [q.topic, q.after, q.limit],
  )
  return {
    json: row?.json ?? '[]',
    count: row?.count ?? 0,
    lastSeq: row?.last == null ? null : Number(row.last),
  }
}

/** Totals across every replica and shard, by topic. */
export async function readCounters(sql: Sql): Promise<TopicCounts[]> {
  const rows = await sql<{ topic: string; unique: string; duplicates: string }[]>`
    SELECT topic, sum(unique_processed)::text AS unique, sum(duplicate_dropped)::text AS duplicates
    FROM counters GROUP BY topic ORDER BY topic`
  return rows.map((r) => ({
    topic: r.topic,
    unique: Number(r.unique),
    duplicates: Number(r.duplicates),
  }))
}

export async function ping(sql: Sql): Promise<void> {
  await sql`SELECT 1`
}
