/** One load run with autocannon: every request's body comes from the workload, in order. */
import autocannon from 'autocannon'
import type { Workload } from './workload.js'

export interface LoadOptions {
  url: string
  path: string
  connections: number
  /** Stop after this many requests… */
  requests?: number
  /** …or after this many seconds. */
  durationS?: number
}

export interface LoadResult {
  requests: number
  ok: number
  failed: number
  requestsPerSecond: number
  latencyMs: { p50: number; p99: number; max: number }
}

export async function load(workload: Workload, o: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: o.url,
    // autocannon refuses more connections than requests
    connections: Math.min(o.connections, o.requests ?? Infinity),
    ...(o.requests !== undefined ? { amount: o.requests } : { duration: o.durationS ?? 10 }),
    timeout: 60,
    requests: [
      {
        method: 'POST',
        path: o.path,
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: workload.nextBody() }),
      },
    ],
  })
  const ok = result['2xx']
  return {
    requests: ok + result.non2xx + result.errors,
    ok,
    failed: result.non2xx + result.errors,
    requestsPerSecond: Math.round(result.requests.average),
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  }
}
