/**
 * A pulse: one second of this process, as the dashboard draws it. Two samples of the vitals
 * (running totals, read in memory) a second apart give the rates, and the latency histograms'
 * growth between them gives that second's p50 and p99. Levels (in flight, queue depth) are
 * shown as they stand, never as a rate: a level that falls is not "−701 /s" of anything.
 */
import { ERRORS } from '../errors.js'
import type { Histogram, Vitals } from '../stats/vitals.js'

/** Declared in pulse-wire.d.ts, which the page's script (a classic script, no imports) shares. */
export type Pulse = globalThis.Pulse

/** The `seconds` between two samples of the vitals, ending at `at`. */
export function pulse(at: number, seconds: number, now: Vitals, before: Vitals): Pulse {
  const rate = (n: number, b: number) => round((n - b) / seconds)
  const errors: Record<string, number> = {}
  for (const [code, n] of now.errors) {
    const more = n - (before.errors.get(code) ?? 0)
    if (more > 0) errors[`${ERRORS[code].status} ${code}`] = round(more / seconds)
  }
  const request = grown(now.request, before.request)
  const commit = grown(now.commit, before.commit)
  return {
    at,
    received: rate(now.accepted, before.accepted),
    unique: rate(now.stored, before.stored),
    duplicates: rate(now.duplicates, before.duplicates),
    failed: rate(now.failed, before.failed),
    errors,
    request_p50: quantile(request, 0.5),
    request_p99: quantile(request, 0.99),
    commit_p50: quantile(commit, 0.5),
    commit_p99: quantile(commit, 0.99),
    in_flight: now.inFlight,
    queued: now.queued,
    queue_max: now.queueMax,
    held_bytes: now.heldBytes,
    held_max_bytes: now.heldMaxBytes,
  }
}

/** What a histogram gained since `before` (which has no buckets before its first observation). */
function grown(now: Histogram, before: Histogram): Histogram {
  if (before.counts.length !== now.counts.length) return now
  return { bounds: now.bounds, counts: now.counts.map((n, i) => n - before.counts[i]!) }
}

/**
 * The `q` quantile in ms, interpolated linearly within its bucket as Prometheus'
 * `histogram_quantile` does; a quantile in the open last bucket is its lower bound.
 */
export function quantile(h: Histogram, q: number): number | null {
  const total = h.counts.at(-1) ?? 0
  if (total <= 0) return null
  const rank = q * total
  const i = h.counts.findIndex((n) => n >= rank)
  const lower = i > 0 ? h.bounds[i - 1]! : 0
  const upper = h.bounds[i]!
  if (upper === Infinity) return round(lower * 1000)
  const below = i > 0 ? h.counts[i - 1]! : 0
  const within = h.counts[i]! - below
  const share = within > 0 ? (rank - below) / within : 1
  return round((lower + (upper - lower) * share) * 1000)
}

/** Tenths: enough for a chart, and a history of pulses stays small on the wire. */
function round(n: number): number {
  return Math.round(n * 10) / 10
}
