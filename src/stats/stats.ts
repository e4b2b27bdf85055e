/**
 * The `/stats` snapshot. Stored counts come from PostgreSQL (global across replicas, exact, and
 * surviving restarts); what is still in this process's queues is added on top, so
 * `received = unique_processed + duplicate_dropped + in_flight` holds by construction.
 */
import type { TopicCounts } from '../read-model.js'
import type { ShardStats } from '../pipeline/shard.js'

export interface StatsSources {
  counters(): Promise<TopicCounts[]>
  inFlight(): number
  shards(): ShardStats[]
}

export interface Stats {
  received: number
  unique_processed: number
  duplicate_dropped: number
  rejected: number
  /** Accepted events whose batch failed after its retries (answered 503 in durable mode). */
  failed: number
  in_flight: number
  topics: string[]
  topic_counts: Record<string, number>
  uptime: number
  started_at: string
  shards: ShardStats[]
}

/** Kept by this process only: refused requests never reach the store. */
export class EdgeCounters {
  /** Events admitted to the pipeline. */
  accepted = 0
  /** Events refused at the edge, in all and by error code. */
  rejected = 0
  readonly rejectedBy = new Map<string, number>()
  readonly startedAt = new Date()

  reject(reason: string, events: number): void {
    this.rejected += events
    this.rejectedBy.set(reason, (this.rejectedBy.get(reason) ?? 0) + events)
  }
}

export async function snapshot(sources: StatsSources, edge: EdgeCounters): Promise<Stats> {
  const counters = await sources.counters()
  let unique = 0
  let duplicates = 0
  // no prototype: a topic may be called "__proto__"
  const topicCounts = Object.create(null) as Record<string, number>
  for (const c of counters) {
    unique += c.unique
    duplicates += c.duplicates
    topicCounts[c.topic] = c.unique
  }
  const inFlight = sources.inFlight()
  const shards = sources.shards()
  return {
    received: unique + duplicates + inFlight,
    unique_processed: unique,
    duplicate_dropped: duplicates,
    rejected: edge.rejected,
    failed: shards.reduce((sum, s) => sum + s.failed_events, 0),
    in_flight: inFlight,
    topics: Object.keys(topicCounts),
    topic_counts: topicCounts,
    uptime: Math.floor((Date.now() - edge.startedAt.getTime()) / 1000),
    started_at: edge.startedAt.toISOString(),
    shards,
  }
}
