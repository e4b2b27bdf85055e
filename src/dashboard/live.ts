/**
 * The dashboard's feed: one `/stats` snapshot a second, published once to every viewer of the
 * `stats` topic: ten open dashboards cost the database what one does; with none, no query runs.
 * When a snapshot fails, or is still unanswered after `STALLED_MS`, viewers get an outage
 * message instead of silence: see `LiveOutage`.
 */
import type { ShardStats } from '../pipeline/shard.js'
import type { Stats } from '../stats/stats.js'

export const LIVE_TOPIC = 'stats'

const INTERVAL_MS = 1000
/** An unanswered snapshot this old counts as an outage (a database that does not answer at all). */
const STALLED_MS = 3000
/** How many topics a snapshot carries: `/stats` lists the most active, a screen shows a few. */
const TOP_TOPICS = 10

export interface LiveSnapshot extends Omit<Stats, 'topics' | 'topic_counts'> {
  /** Server clock (epoch ms) when the snapshot was taken: viewers compute rates from it. */
  at: number
  database: 'up'
  top_topics: { topic: string; count: number }[]
}

/**
 * Sent instead of a snapshot while the database does not answer: the workers' state as this
 * process sees it now, and the last good snapshot (null if none was taken yet) with its own `at`,
 * so a viewer can show the figures it has and how old they are.
 */
export interface LiveOutage {
  at: number
  database: 'down'
  shards: ShardStats[]
  last: LiveSnapshot | null
}

export type LiveMessage = LiveSnapshot | LiveOutage

export interface LiveFeed {
  snapshot(): Promise<Stats>
  /** The shards' state, read in this process: available when the database is not. */
  workers(): ShardStats[]
  publish(message: string): void
  viewers(): number
  failed(error: unknown): void
}

function toLive(stats: Stats, at: number): LiveSnapshot {
  const { topics, topic_counts, ...rest } = stats
  const top = topics
    .map((topic) => ({ topic, count: topic_counts[topic]! }))
    .sort((a, b) => b.count - a.count || (a.topic < b.topic ? -1 : 1))
    .slice(0, TOP_TOPICS)
  return { at, database: 'up', ...rest, top_topics: top }
}

export class LiveStats {
  private timer: NodeJS.Timeout | null = null
  private querying = false
  /** Server clock when the query in progress started. */
  private queriedAt = 0
  /** The last broadcast, for a viewer who joins between two; dropped when nobody watches. */
  private last: string | null = null
  /** The last good snapshot, kept through an outage to show what was known and since when. */
  private lastGood: LiveSnapshot | null = null

  constructor(private readonly feed: LiveFeed) {}

  /** The timer is unref'd: an idle dashboard never keeps the process alive. */
  start(): void {
    this.timer = setInterval(() => this.tick(), INTERVAL_MS).unref()
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  /** A new viewer sees numbers at once: the cached broadcast, or the first one fetched now. */
  welcome(send: (message: string) => void): void {
    if (this.last !== null) send(this.last)
    else this.tick()
  }

  private tick(): void {
    if (this.timer === null) return
    if (this.feed.viewers() === 0) {
      this.last = null
      return
    }
    // a slow database skips a beat rather than stacking queries; a stalled one is an outage
    if (this.querying) {
      if (Date.now() - this.queriedAt >= STALLED_MS) this.broadcast(this.outage())
      return
    }
    this.querying = true
    this.queriedAt = Date.now()
    this.feed
      .snapshot()
      .then(
        (stats) => {
          this.lastGood = toLive(stats, Date.now())
          this.broadcast(this.lastGood)
        },
        (error: unknown) => {
          this.feed.failed(error)
          this.broadcast(this.outage())
        },
      )
      .finally(() => (this.querying = false))
  }

  private outage(): LiveOutage {
    return { at: Date.now(), database: 'down', shards: this.feed.workers(), last: this.lastGood }
  }

  private broadcast(message: LiveMessage): void {
    this.last = JSON.stringify(message)
    if (this.timer !== null) this.feed.publish(this.last)
  }
}
