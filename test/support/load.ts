/**
 * A steady background load for fault tests: a few clients sending batches of fresh events until
 * stopped, remembering which events were acknowledged (2xx) and every status seen.
 */
import { event, type TestEvent } from './client.js'

export interface LoadOptions {
  concurrency: number
  batch: number
  topic: string
  query?: string
  /** Pause after a 503 or a network error; 0 hammers (default 50). */
  backoffMs?: number
  /**
   * Send a batch answered 503 or lost to a network error again, as a client of an idempotent
   * API does (at least once), instead of moving on to a fresh one.
   */
  resend?: boolean
}

export interface Load {
  /** Events in requests answered 2xx: these must never be lost. */
  acked: TestEvent[]
  /** Every event sent, answered or not. */
  sent: TestEvent[]
  statuses: Map<number | string, number>
  /** Resolves once every request sent so far has its answer (or its network error). */
  answered(): Promise<void>
  stop(): Promise<void>
}

export function startLoad(url: string, o: LoadOptions): Load {
  let running = true
  const pending = new Set<Promise<boolean>>()
  const load: Load = {
    acked: [],
    sent: [],
    statuses: new Map(),
    async answered() {
      await Promise.all(pending)
    },
    async stop() {
      running = false
      await Promise.all(clients)
    },
  }
  const count = (key: number | string) => load.statuses.set(key, (load.statuses.get(key) ?? 0) + 1)
  const pause = () => new Promise((r) => setTimeout(r, o.backoffMs ?? 50))
  /** True when the answer calls for a pause before the next request. */
  const send = async (events: TestEvent[]): Promise<boolean> => {
    try {
      const res = await fetch(`${url}/publish${o.query ?? ''}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new TextEncoder().encode(JSON.stringify(events)),
      })
      await res.arrayBuffer()
      count(res.status)
      if (res.ok) load.acked.push(...events)
      return res.status === 503
    } catch (error) {
      count(String((error as Error).cause ?? error).split(':')[0] ?? 'error')
      return true
    }
  }
  const fresh = () => {
    const events = Array.from({ length: o.batch }, () => event({ topic: o.topic }))
    load.sent.push(...events)
    return events
  }
  const client = async () => {
    let events: TestEvent[] | null = null
    while (running) {
      events ??= fresh()
      const request = send(events)
      pending.add(request)
      const backOff = await request
      pending.delete(request)
      if (!backOff || o.resend !== true) events = null
      if (backOff) await pause()
    }
  }
  const clients = Array.from({ length: o.concurrency }, client)
  return load
}
