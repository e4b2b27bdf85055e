/**
 * The `/stats` snapshot. Stored counts come from PostgreSQL (global across replicas, exact, and
 * surviving restarts); what is still in this process's queues is added on top, so
 * `received = unique_processed + duplicate_dropped + in_flight` holds by construction. Only the
 * `TOP_TOPICS` most active topics are listed (all of them in a deployment with no more);
 * `topic_count` says how many there are, and `GET /topics` pages through every one.
 */
import type { CountersSummary } from '../read-model.js'
import type { ShardStats } from '../pipeline/shard.js'
import type { EdgeCounters } from './edge.js'

/** How many topics `/stats` lists. */
export const TOP_TOPICS = 100

export interface StatsSources {
  summary(top: number): Promise<CountersSummary>
  inFlight(): number
  shards(): ShardStats[]
}

export interface Stats {
  received: number
  unique_processed: number
  duplicate_dropped: number
  /** Publish requests refused, whatever the reason, across replicas and restarts. */
  rejected: number
  /** Events in those requests, where the body was read far enough to count them. */
  rejected_events: number
  /** Accepted events whose batch failed after its retries (answered 503 in durable mode). */
  failed: number
  in_flight: number
  topics: string[]
  topic_counts: Record<string, number>
  /** How many topics there are; `topics` lists at most TOP_TOPICS of them. */
  topic_count: number
  uptime: number
  started_at: string
  shards: ShardStats[]
}

export async function snapshot(sources: StatsSources, edge: EdgeCounters): Promise<Stats> {
  // before the read: a batch that commits while it runs is then counted twice for a moment (in
  // flight and stored), never not at all, and `in_flight: 0` means the read saw every event
  const inFlight = sources.inFlight()
  const summary = await sources.summary(TOP_TOPICS)
  // no prototype: a topic may be called "__proto__"
  const topicCounts = Object.create(null) as Record<string, number>
  for (const c of summary.top) topicCounts[c.topic] = c.unique
  const shards = sources.shards()
  const unsaved = edge.unsavedTotal()
  return {
    received: summary.unique + summary.duplicates + inFlight,
    unique_processed: summary.unique,
    duplicate_dropped: summary.duplicates,
    rejected: summary.rejectedRequests + unsaved.requests,
    rejected_events: summary.rejectedEvents + unsaved.events,
    failed: shards.reduce((sum, s) => sum + s.failed_events, 0),
    in_flight: inFlight,
    topics: Object.keys(topicCounts),
    topic_counts: topicCounts,
    topic_count: summary.topicCount,
    uptime: Math.floor((Date.now() - edge.startedAt.getTime()) / 1000),
    started_at: edge.startedAt.toISOString(),
    shards,
  }
}
