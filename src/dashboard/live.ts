/**
 * The dashboard's feed: one `/stats` snapshot a second, published once to every viewer of the
 * `stats` topic: ten open dashboards cost the database what one does; with none, no query runs.
 */
import type { Stats } from '../stats/stats.js'

export const LIVE_TOPIC = 'stats'

const INTERVAL_MS = 1000
/** How many topics a snapshot carries: `/stats` lists the most active, a screen shows a few. */
const TOP_TOPICS = 10

export interface LiveSnapshot extends Omit<Stats, 'topics' | 'topic_counts'> {
  /** Server clock (epoch ms) when the snapshot was taken: viewers compute rates from it. */
  at: number
  top_topics: { topic: string; count: number }[]
}

export interface LiveFeed {
  snapshot(): Promise<Stats>
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
  return { at, ...rest, top_topics: top }
}

export class LiveStats {
  private timer: NodeJS.Timeout | null = null
  private querying = false
  /** The last broadcast, for a viewer who joins between two; dropped when nobody watches. */
  private last: string | null = null

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
    // a slow database skips a beat rather than stacking queries
    if (this.querying) return
    this.querying = true
    this.feed
      .snapshot()
      .then(
        (stats) => {
          this.last = JSON.stringify(toLive(stats, Date.now()))
          if (this.timer !== null) this.feed.publish(this.last)
        },
        (error: unknown) => this.feed.failed(error),
      )
      .finally(() => (this.querying = false))
  }
}
