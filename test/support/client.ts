import type { Stats } from '../../src/stats/stats.js'

/** A small JSON client for the aggregator's API, and event factories. */
export interface TestEvent {
  topic: string
  event_id: string
  timestamp: string
  source: string
  payload?: unknown
}

let counter = 0

export function event(overrides: Partial<TestEvent> = {}): TestEvent {
  counter++
  return {
    topic: 'payment.notification',
    event_id: `evt-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    timestamp: '2025-10-21T10:00:00.000Z',
    source: 'payment-gateway-A',
    payload: { content: `Transaction ${counter} ok`, metadata: { amount: 500000 } },
    ...overrides,
  }
}

export interface Reply<T = unknown> {
  status: number
  headers: Headers
  body: T
}

export async function post<T = Record<string, unknown>>(
  base: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Reply<T>> {
  // bytes, not a string: fetch would add `Content-Type: text/plain` to a string body
  const bytes =
    body instanceof Uint8Array
      ? body
      : new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body))
  const res = await fetch(base + path, { method: 'POST', headers, body: bytes })
  return { status: res.status, headers: res.headers, body: (await res.json()) as T }
}

export async function get<T = Record<string, unknown>>(
  base: string,
  path: string,
): Promise<Reply<T>> {
  const res = await fetch(base + path)
  return { status: res.status, headers: res.headers, body: (await res.json()) as T }
}

export type StatsBody = Stats

export const stats = async (base: string) => (await get<StatsBody>(base, '/stats')).body

/**
 * Polls `/stats` until `done` holds (bounded), for asynchronous acknowledgements. The bound only
 * ends a failing test: in the compose test service's full runs (fsync on, every test file
 * creating its database alongside) a batch was seen to take 15–20 s to commit after a lock was
 * released, which takes 0.2 s there on its own.
 */
export async function waitForStats(
  base: string,
  done: (s: StatsBody) => boolean,
  timeoutMs = 60_000,
): Promise<StatsBody> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const s = await stats(base)
    if (done(s) || Date.now() > deadline) return s
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A URL on 127.0.0.1 where nothing listens: a port just freed (fetch refuses port 9 itself). */
export async function nothingListening(): Promise<string> {
  const { createServer } = await import('node:net')
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return `http://127.0.0.1:${port}`
}
