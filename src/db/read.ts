/** The read side: the persisted counters, for the HTTP edge (the events' feed is in feed.ts). */
import type { CountersSummary, TopicCounts, TopicsQuery } from '../read-model.js'
import type { Sql } from './connect.js'

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
