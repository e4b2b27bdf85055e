/**
 * The most active topics over the dashboard's windows (1, 5 and 15 minutes), from the committed
 * batches' per-topic counts: nothing scans the topics, however many there are. Each second keeps
 * its `PER_SECOND` busiest topics (the rest are dropped from the ranking, so with more topics
 * than that active in one second the ranking is approximate); each window keeps running sums,
 * adding the second that ends and taking away the one that leaves it. So a second costs
 * O(PER_SECOND) per window, and memory is bounded by 900 × PER_SECOND entries.
 */
import type { BatchReport } from '../pipeline/shard.js'
import { Ring } from './ring.js'

/** The windows the page offers, in seconds. */
export const WINDOWS = [60, 300, 900] as const
export type Window = (typeof WINDOWS)[number]
const PER_SECOND = 100

export interface ActiveTopic {
  topic: string
  /** Events in committed batches over the window (new and duplicate). */
  events: number
  /** Per second, over the window or the part of it this process has seen. */
  rate: number
}

export class TopicActivity {
  private current = new Map<string, number>()
  private readonly seconds = new Ring<Map<string, number>>(Math.max(...WINDOWS))
  private readonly sums = new Map<Window, Map<string, number>>(WINDOWS.map((w) => [w, new Map()]))

  /** A committed batch's topics count toward the second in progress. */
  batch(report: BatchReport): void {
    if (report.failed !== undefined) return
    for (const part of report.topics) {
      for (const [topic, n] of part) this.current.set(topic, (this.current.get(topic) ?? 0) + n)
    }
  }

  /** Ends the second in progress. */
  tick(): void {
    const second = busiest(this.current, PER_SECOND)
    this.current = new Map()
    for (const [window, sums] of this.sums) {
      // the second that falls out of the window once this one is in
      const leaving = this.seconds.ago(window - 1)
      if (leaving !== undefined) {
        for (const [topic, n] of leaving) {
          const left = sums.get(topic)! - n
          if (left > 0) sums.set(topic, left)
          else sums.delete(topic)
        }
      }
      for (const [topic, n] of second) sums.set(topic, (sums.get(topic) ?? 0) + n)
    }
    this.seconds.push(second)
  }

  /** The `n` most active topics over `window`, busiest first, then by name. */
  top(window: Window, n: number): ActiveTopic[] {
    const seen = Math.max(1, Math.min(window, this.seconds.length))
    return [...busiest(this.sums.get(window)!, n)].map(([topic, events]) => ({
      topic,
      events,
      rate: Math.round((events / seen) * 10) / 10,
    }))
  }
}

/** The `n` largest entries, largest first, then by name; one pass, no sort of the whole map. */
function busiest(counts: ReadonlyMap<string, number>, n: number): Map<string, number> {
  if (counts.size <= n) return new Map([...counts].sort(order))
  const kept: [string, number][] = []
  for (const entry of counts) {
    if (kept.length === n && order(entry, kept[n - 1]!) >= 0) continue
    let at = kept.length === n ? n - 1 : kept.length
    while (at > 0 && order(entry, kept[at - 1]!) < 0) {
      kept[at] = kept[at - 1]!
      at--
    }
    kept[at] = entry
  }
  return new Map(kept)
}

function order(a: [string, number], b: [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
}
