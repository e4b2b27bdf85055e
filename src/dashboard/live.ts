/**
 * The dashboard's feed. Every second, whether anyone watches or not, this process's vitals are
 * sampled from memory into a pulse (rates, latency quantiles, levels) kept for 15 minutes in a
 * ring, and the most active topics' windows move on: no database read, nothing that grows with
 * the number of topics. While anyone watches, a `/stats` snapshot (with the active topics'
 * all-time counts) is also read, once for every viewer, and published with the pulses not sent
 * yet (a beat skipped while the database is slow leaves no hole) to every viewer of the `stats`
 * topic: ten open dashboards cost the database what one does; with none,
 * no query runs. A viewer who joins gets the ring first, so its charts start full.
 * When a snapshot fails, or is still unanswered after `STALLED_MS`, viewers get an outage
 * message instead of silence: see `LiveOutage`.
 */
import type { ShardStats } from '../pipeline/shard.js'
import type { TopicCounts } from '../read-model.js'
import type { Stats } from '../stats/stats.js'
import type { Vitals } from '../stats/vitals.js'
import { pulse, type Pulse } from './pulse.js'
import { Ring } from './ring.js'
import { WINDOWS, type ActiveTopic, type TopicActivity } from './topic-activity.js'

export const LIVE_TOPIC = 'stats'

const INTERVAL_MS = 1000
/** An unanswered snapshot this old counts as an outage (a database that does not answer at all). */
const STALLED_MS = 3000
/** Fifteen minutes of pulses, one a second. */
const HISTORY = 900
/** How many active topics a snapshot carries per window: a screen shows a few. */
const TOP_TOPICS = 10

/** A topic among the most active, with its all-time count (`null` while the database is down). */
export interface ActiveTopicRow extends ActiveTopic {
  total: number | null
}

/** The most active topics, by window length in seconds. */
export type ActiveTopics = Record<string, ActiveTopicRow[]>

export interface LiveSnapshot extends Omit<Stats, 'topics' | 'topic_counts'> {
  /** Server clock (epoch ms) when the snapshot was taken. */
  at: number
  database: 'up'
  /** How long the database took to answer this snapshot. */
  database_ms: number
  /** The pulses since the previous message, oldest first (none when a read of the vitals failed). */
  pulses: Pulse[]
  active: ActiveTopics
}

/**
 * Sent instead of a snapshot while the database does not answer: what this process knows
 * without it (the workers, the pulses, the active topics), and the last good snapshot (null if
 * none was taken yet) with its own `at`, so a viewer can show the figures it has and how old
 * they are.
 */
export interface LiveOutage {
  at: number
  database: 'down'
  shards: ShardStats[]
  pulses: Pulse[]
  active: ActiveTopics
  last: LiveSnapshot | null
}

/** Sent to a viewer as it joins, before anything else: the pulses of the last 15 minutes. */
export interface LiveHistory {
  history: Pulse[]
}

export type LiveMessage = LiveSnapshot | LiveOutage | LiveHistory

export interface LiveFeed {
  snapshot(): Promise<Stats>
  /** All-time counts of these topics (those with none are left out). */
  totals(topics: string[]): Promise<TopicCounts[]>
  /** This process's running totals and levels, read in memory. */
  vitals(): Promise<Vitals>
  activity: Pick<TopicActivity, 'tick' | 'top'>
  /** The shards' state, read in this process: available when the database is not. */
  workers(): ShardStats[]
  publish(message: string): void
  viewers(): number
  failed(error: unknown): void
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
  private readonly pulses = new Ring<Pulse>(HISTORY)
  /** The previous sample of the vitals, and its time: the next pulse is the difference. */
  private sampled: { vitals: Vitals; at: number } | null = null
  /** The samplings in order: a pulse is never computed from an older sample than its own. */
  private sampling: Promise<void> = Promise.resolve()
  /** The newest pulse published. */
  private sentAt = 0

  constructor(private readonly feed: LiveFeed) {}

  /** The timer is unref'd: an idle dashboard never keeps the process alive. */
  start(): void {
    this.timer = setInterval(() => this.tick(), INTERVAL_MS).unref()
    const at = Date.now()
    this.sampling = this.sampling.then(() => this.sample(at))
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  /**
   * A new viewer gets the history, then numbers at once: the cached broadcast, or the first one
   * fetched now.
   */
  welcome(send: (message: string) => void): void {
    send(JSON.stringify({ history: this.pulses.toArray() } satisfies LiveHistory))
    if (this.last !== null) send(this.last)
    else this.tick(false)
  }

  /** One second; `beat` false for a viewer's welcome, which adds no pulse. */
  private tick(beat = true): void {
    if (this.timer === null) return
    const at = Date.now()
    if (beat) {
      this.sampling = this.sampling.then(() => this.sample(at))
      this.feed.activity.tick()
    }
    if (this.feed.viewers() === 0) {
      this.last = null
      return
    }
    const active = this.active()
    // a slow database skips a beat rather than stacking queries; a stalled one is an outage
    if (this.querying) {
      if (at - this.queriedAt >= STALLED_MS) void this.broadcastOutage(active)
      return
    }
    this.querying = true
    this.queriedAt = at
    const topics = [...new Set(Object.values(active).flatMap((rows) => rows.map((r) => r.topic)))]
    Promise.all([this.feed.snapshot(), this.feed.totals(topics), this.sampling])
      .then(
        ([stats, totals]) => {
          const counts = new Map(totals.map((c) => [c.topic, c.unique]))
          for (const rows of Object.values(active)) {
            for (const row of rows) row.total = counts.get(row.topic) ?? 0
          }
          const { topics: _, topic_counts: __, ...rest } = stats
          const taken = Date.now()
          this.lastGood = {
            ...rest,
            at: taken,
            database: 'up',
            database_ms: taken - at,
            pulses: this.unsent(),
            active,
          }
          this.broadcast(this.lastGood)
        },
        (error: unknown) => {
          this.feed.failed(error)
          return this.broadcastOutage(active)
        },
      )
      .finally(() => (this.querying = false))
  }

  /**
   * The vitals now, as the pulse of the second since the previous sample (the first sample is a
   * baseline). Vitals are read from memory; should a read fail all the same, it is reported and
   * the second is left out, so a viewer's feed never stops.
   */
  private async sample(at: number): Promise<void> {
    let vitals: Vitals
    try {
      vitals = await this.feed.vitals()
    } catch (error) {
      this.feed.failed(error)
      return
    }
    const before = this.sampled
    this.sampled = { vitals, at }
    if (before !== null) {
      this.pulses.push(pulse(at, Math.max(1, at - before.at) / 1000, vitals, before.vitals))
    }
  }

  /** The pulses not published yet, oldest first. */
  private unsent(): Pulse[] {
    const fresh: Pulse[] = []
    for (let n = 0; ; n++) {
      const newer = this.pulses.ago(n)
      if (newer === undefined || newer.at <= this.sentAt) break
      fresh.unshift(newer)
    }
    this.sentAt = fresh.at(-1)?.at ?? this.sentAt
    return fresh
  }

  private active(): ActiveTopics {
    const active: ActiveTopics = {}
    for (const window of WINDOWS) {
      active[window] = this.feed.activity
        .top(window, TOP_TOPICS)
        .map((row) => ({ ...row, total: null }))
    }
    return active
  }

  private async broadcastOutage(active: ActiveTopics): Promise<void> {
    await this.sampling
    this.broadcast({
      at: Date.now(),
      database: 'down',
      shards: this.feed.workers(),
      pulses: this.unsent(),
      active,
      last: this.lastGood,
    })
  }

  private broadcast(message: LiveSnapshot | LiveOutage): void {
    this.last = JSON.stringify(message)
    if (this.timer !== null) this.feed.publish(this.last)
  }
}
