/**
 * Vitals: what this process counts, read from memory without the database, as running totals
 * and levels. The dashboard samples them once a second and turns two samples into rates and
 * latency quantiles (src/dashboard/pulse.ts); they stay readable through a database outage.
 */
import type { ErrorCode } from '../errors.js'
import type { ShardStats } from '../pipeline/shard.js'
import type { EdgeCounters } from './edge.js'

/** A latency histogram: cumulative counts at each upper bound (seconds; the last is Infinity). */
export interface Histogram {
  bounds: number[]
  counts: number[]
}

export interface Vitals {
  /** Events admitted to the pipeline. */
  accepted: number
  /** Of the events in committed batches, new and duplicate; and events whose batch failed. */
  stored: number
  duplicates: number
  failed: number
  /** Publish error answers by error code (refusals, and 503s). */
  errors: ReadonlyMap<ErrorCode, number>
  /** Publish requests, request to answer (a durable publish includes its commit). */
  request: Histogram
  /** One batch's COPY + merge + commit. */
  commit: Histogram
  /** Accepted, not yet settled: a level, not a count. */
  inFlight: number
  /** Events queued and bytes of rows held, against the limits that refuse new requests. */
  queued: number
  queueMax: number
  heldBytes: number
  heldMaxBytes: number
}

export interface VitalsSources {
  edge: Pick<EdgeCounters, 'accepted'>
  shards: {
    stats(): ShardStats[]
    readonly inFlight: number
    readonly queued: number
    readonly heldBytes: number
  }
  metrics: {
    readonly publishErrors: ReadonlyMap<ErrorCode, number>
    latencies(): Promise<{ request: Histogram; commit: Histogram }>
  }
  limits: { queueMaxEvents: number; queueMaxBytes: number }
}

export async function readVitals(sources: VitalsSources): Promise<Vitals> {
  const { request, commit } = await sources.metrics.latencies()
  const { shards, limits } = sources
  let stored = 0
  let duplicates = 0
  let failed = 0
  for (const s of shards.stats()) {
    stored += s.stored
    duplicates += s.duplicates
    failed += s.failed_events
  }
  return {
    accepted: sources.edge.accepted,
    stored,
    duplicates,
    failed,
    errors: new Map(sources.metrics.publishErrors),
    request,
    commit,
    inFlight: shards.inFlight,
    queued: shards.queued,
    queueMax: limits.queueMaxEvents,
    heldBytes: shards.heldBytes,
    heldMaxBytes: limits.queueMaxBytes,
  }
}
