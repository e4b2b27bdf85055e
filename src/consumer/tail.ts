/**
 * The consumer: follows the feed (one topic or all) through the client's subscribe(), and at
 * the end checks that it saw every event `/stats` says is stored exactly once. It starts from
 * the beginning of the feed, so what it saw and what is stored are the same set when the feed
 * keeps its promise.
 */
import { AggregatorClient, type Stats } from '../../client/index.js'
import { Progress } from '../cli/progress.js'

export interface TailOptions {
  url: string
  token: string
  topic: string | undefined
  /** Stop once this many events arrived; null: no such limit. */
  count: number | null
  /** Stop once no event arrived for this long; null: no such limit. */
  idleMs: number | null
  /** Stop when this aborts (SIGINT). */
  signal: AbortSignal
  /** How long to wait for `/stats` to settle (nothing in flight) at the end. */
  settleMs: number
  /** Told each time the stream was interrupted and resumed. */
  onResume: (message: string) => void
}

export type Ending = 'count' | 'idle' | 'interrupted'

export interface TailSummary {
  ended: Ending
  topic: string | null
  received: number
  distinct: number
  /** Events that arrived more than once (by topic and event_id). */
  repeats: number
  /** What `/stats` says is stored, for the topic or in all. */
  stored: number | null
  connections: number
  cursor: string | null
  seconds: number
  events_per_second: number
  problems: string[]
}

export async function tail(options: TailOptions): Promise<TailSummary> {
  const client = new AggregatorClient({ url: options.url, token: options.token })
  await client.stats() // fails at once, and plainly, when nothing answers at the URL
  const seen = new Set<string>()
  let received = 0
  let repeats = 0
  const progress = new Progress('events received', options.count)
  const started = performance.now()

  let end!: (ending: Ending) => void
  const ended = new Promise<Ending>((resolve) => (end = resolve))
  let over = false
  const finish = (ending: Ending) => {
    over = true
    end(ending)
  }
  const idle = options.idleMs === null ? null : setTimeout(() => finish('idle'), options.idleMs)
  // a line a second even while nothing arrives: a tail that went quiet says so
  const ticks = setInterval(() => progress.update(received), 1000)
  const interrupt = () => finish('interrupted')
  options.signal.addEventListener('abort', interrupt)

  const subscription = client.subscribe(
    { topic: options.topic },
    (event) => {
      if (over) return
      const key = `${event.topic}\u0000${event.event_id}`
      if (seen.has(key)) repeats++
      else seen.add(key)
      received++
      progress.update(received)
      idle?.refresh()
      if (options.count !== null && received >= options.count) finish('count')
    },
    {
      onInterruption: ({ message, retryInMs }) =>
        options.onResume(`${message}; resuming in ${Math.round(retryInMs)} ms`),
    },
  )
  try {
    // a subscription refused for good (401, 404 …) ends the run with its error
    const ending = await Promise.race([ended, subscription.done.then(() => ended)])
    const seconds = (performance.now() - started) / 1000
    await subscription.stop()
    progress.end()
    const stats = await client.settledStats(options.settleMs)
    const stored = storedCount(stats, options.topic)
    const problems: string[] = []
    if (stored === null)
      problems.push(`topic ${options.topic} is not among the topics /stats lists: cannot check`)
    else if (seen.size !== stored)
      problems.push(`saw ${seen.size} distinct events, /stats says ${stored} are stored`)
    if (repeats > 0) problems.push(`${repeats} events arrived more than once`)
    return {
      ended: ending,
      topic: options.topic ?? null,
      received,
      distinct: seen.size,
      repeats,
      stored,
      connections: subscription.connections,
      cursor: subscription.cursor ?? null,
      seconds: Math.round(seconds * 100) / 100,
      events_per_second: Math.round(received / Math.max(seconds, 0.001)),
      problems,
    }
  } finally {
    if (idle !== null) clearTimeout(idle)
    clearInterval(ticks)
    options.signal.removeEventListener('abort', interrupt)
    await subscription.stop()
  }
}

/**
 * Stored events of one topic, or of all. `/stats` lists the most active topics only: a topic
 * missing from a full list is unknown (null), from a complete one it has none.
 */
function storedCount(stats: Stats, topic: string | undefined): number | null {
  if (topic === undefined) return stats.unique_processed
  const count = stats.topic_counts[topic]
  if (count !== undefined) return count
  return stats.topics.length < stats.topic_count ? null : 0
}
