/**
 * One closed-loop load: `connections` clients each send a request as soon as their previous one
 * is answered, every body from the workload, in order. Three generators, each measured for its
 * own CPU per request: wrk (bench/wrk.ts; the default, it costs least), autocannon and undici
 * (Node's `fetch`), both in this process.
 */
import autocannon from 'autocannon'
import type { Workload } from './workload.js'
import { wrkLoad } from './wrk.js'

export const GENERATORS = ['wrk', 'autocannon', 'undici'] as const
export type Generator = (typeof GENERATORS)[number]

export interface LoadOptions {
  generator: Generator
  url: string
  path: string
  connections: number
  /** Stop after this many requests… */
  requests?: number
  /** …or after this many seconds (autocannon only). */
  durationS?: number
}

export interface LoadResult {
  requests: number
  ok: number
  failed: number
  requestsPerSecond: number
  latencyMs: Latency
  /** From the first request sent to the last answer, as the generator measured it. */
  seconds: number
  /** The generator's own CPU over the load, in µs; null when it could not be read. */
  generatorCpuUs: number | null
}

export interface Latency {
  p50: number
  p99: number
  max: number
}

/** Percentiles of latencies in ms, rounded to whole ms; sorts `latencies`. */
export function latencySummary(latencies: number[]): Latency {
  latencies.sort((a, b) => a - b)
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0)
  return { p50: at(0.5), p99: at(0.99), max: Math.round(latencies.at(-1) ?? 0) }
}

/** Seconds any one request may take before the load counts it failed. */
const TIMEOUT_S = 60

export async function load(workload: Workload, o: LoadOptions): Promise<LoadResult> {
  if (o.generator === 'wrk' && o.requests !== undefined) {
    return wrkLoad(workload, { ...o, requests: o.requests, threads: 2, timeoutS: TIMEOUT_S * 5 })
  }
  const before = process.cpuUsage()
  const result =
    o.generator === 'undici' && o.requests !== undefined
      ? await undiciLoad(workload, { ...o, requests: o.requests })
      : await autocannonLoad(workload, o)
  const used = process.cpuUsage(before)
  return { ...result, generatorCpuUs: used.user + used.system }
}

async function autocannonLoad(
  workload: Workload,
  o: LoadOptions,
): Promise<Omit<LoadResult, 'generatorCpuUs'>> {
  const result = await autocannon({
    url: o.url,
    // autocannon refuses more connections than requests
    connections: Math.min(o.connections, o.requests ?? Infinity),
    ...(o.requests !== undefined ? { amount: o.requests } : { duration: o.durationS ?? 10 }),
    timeout: TIMEOUT_S,
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
    seconds: result.duration,
  }
}

async function undiciLoad(
  workload: Workload,
  o: LoadOptions & { requests: number },
): Promise<Omit<LoadResult, 'generatorCpuUs'>> {
  const target = new URL(o.path, o.url)
  const latencies: number[] = []
  let ok = 0
  let sent = 0
  const started = performance.now()
  const client = async () => {
    while (sent < o.requests) {
      sent++
      const begun = performance.now()
      try {
        const res = await fetch(target, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: workload.nextBody(),
          signal: AbortSignal.timeout(TIMEOUT_S * 1000),
        })
        await res.arrayBuffer()
        if (res.status === 200 || res.status === 202) ok++
      } catch {
        // counted as failed below
      }
      latencies.push(performance.now() - begun)
    }
  }
  await Promise.all(Array.from({ length: Math.min(o.connections, o.requests) }, client))
  const seconds = (performance.now() - started) / 1000
  return {
    requests: o.requests,
    ok,
    failed: o.requests - ok,
    requestsPerSecond: Math.round(o.requests / seconds),
    latencyMs: latencySummary(latencies),
    seconds,
  }
}
