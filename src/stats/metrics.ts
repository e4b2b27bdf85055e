/**
 * Prometheus metrics (`GET /metrics`). Counts the service already keeps (per-shard stats, edge
 * counters) are read at scrape time, so the hot path pays nothing for them; only the two
 * latency histograms are fed as things happen: one observation per HTTP answer and one per
 * committed batch, whose duration the worker thread reports with its result.
 */
import client from 'prom-client'
import type { BatchReport, ShardStats } from '../pipeline/shard.js'
import type { ErrorCode } from '../errors.js'
import type { HubCounts } from '../feed/hub.js'
import type { EdgeCounters } from './edge.js'
import type { Histogram } from './vitals.js'

export interface MetricsSources {
  shards(): ShardStats[]
  inFlight(): number
  edge: EdgeCounters
  /** The package's version, for `aggregator_build_info`. */
  version: string
  /** The share of the queue limits in use, the larger of events and bytes: 1 refuses. */
  queueFill(): number
  /** Whether the database answers now; asked at scrape time, bounded by its own timeout. */
  databaseUp(): Promise<boolean>
  /** The stream subscribers and their reads of the feed. */
  streams(): HubCounts
}

export class Metrics {
  readonly registry = new client.Registry()
  readonly contentType = client.Registry.PROMETHEUS_CONTENT_TYPE
  private readonly responses: client.Counter<'route' | 'status'>
  private readonly requestSeconds: client.Histogram<'route'>
  private readonly batchSeconds: client.Histogram
  private readonly batchEvents: client.Histogram

  private readonly edge: EdgeCounters
  /** Publish error answers by error code, whatever their status (503s too): the dashboard's. */
  readonly publishErrors = new Map<ErrorCode, number>()

  constructor(sources: MetricsSources) {
    this.edge = sources.edge
    const registers = [this.registry]
    client.collectDefaultMetrics({ register: this.registry, prefix: 'aggregator_' })
    this.responses = new client.Counter({
      name: 'aggregator_http_responses_total',
      help: 'HTTP answers, by route and status (aborted requests have status "aborted")',
      labelNames: ['route', 'status'],
      registers,
    })
    this.requestSeconds = new client.Histogram({
      name: 'aggregator_http_request_duration_seconds',
      help: 'Time from request to answer; for a durable publish it includes the commit',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    })
    this.batchSeconds = new client.Histogram({
      name: 'aggregator_batch_commit_duration_seconds',
      help: 'COPY + merge + commit of one batch, retries included',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    })
    this.batchEvents = new client.Histogram({
      name: 'aggregator_batch_events',
      help: 'Events per committed batch (group commit grows batches under load)',
      buckets: [1, 10, 50, 100, 500, 1000, 2500, 5000, 10000],
      registers,
    })
    const total = (pick: (s: ShardStats) => number) => () =>
      sources.shards().reduce((n, s) => n + pick(s), 0)
    counter(
      'aggregator_events_received_total',
      'Events accepted into the pipeline',
      () => sources.edge.accepted,
    )
    counter(
      'aggregator_events_stored_total',
      'Events stored as new (unique) by this process',
      total((s) => s.stored),
    )
    counter(
      'aggregator_events_duplicate_total',
      'Events dropped as duplicates by this process',
      total((s) => s.duplicates),
    )
    counter(
      'aggregator_events_failed_total',
      'Accepted events whose batch failed after retries',
      total((s) => s.failed_events),
    )
    refusals('aggregator_requests_rejected_total', 'Publish requests refused', 'requests')
    refusals('aggregator_events_rejected_total', 'Events in refused publish requests', 'events')
    new client.Gauge({
      name: 'aggregator_queue_depth_events',
      help: 'Events waiting in a shard queue',
      labelNames: ['shard'],
      registers,
      collect() {
        for (const s of sources.shards()) this.set({ shard: String(s.shard) }, s.queue_depth)
      },
    })
    new client.Gauge({
      name: 'aggregator_in_flight_events',
      help: 'Events accepted and not yet committed',
      registers,
      collect() {
        this.set(sources.inFlight())
      },
    })
    // for alerts and boards outside the process (docs/prometheus, docs/grafana)
    new client.Gauge({
      name: 'aggregator_build_info',
      help: 'Always 1; the running version in its label',
      labelNames: ['version'],
      registers,
    }).set({ version: sources.version }, 1)
    new client.Gauge({
      name: 'aggregator_queue_fill_ratio',
      help: 'Share of QUEUE_MAX_EVENTS or QUEUE_MAX_BYTES in use, the larger; at 1 publishes get 503',
      registers,
      collect() {
        this.set(sources.queueFill())
      },
    })
    new client.Gauge({
      name: 'aggregator_database_up',
      help: 'Whether the database answered a ping at scrape time (1) or not (0)',
      registers,
      async collect() {
        this.set((await sources.databaseUp()) ? 1 : 0)
      },
    })
    new client.Gauge({
      name: 'aggregator_stream_subscribers',
      help: 'Open `GET /events/stream` subscribers',
      registers,
      collect() {
        this.set(sources.streams().subscribers)
      },
    })
    new client.Gauge({
      name: 'aggregator_stream_buffered_bytes',
      help: 'Bytes waiting to be sent to stream subscribers (each bounded by SUBSCRIBER_BUFFER_BYTES)',
      registers,
      collect() {
        this.set(sources.streams().bufferedBytes)
      },
    })
    counter(
      'aggregator_stream_feed_reads_total',
      'Reads of the feed for stream subscribers: one per topic and wake-up, plus catch-up reads',
      () => sources.streams().reads,
    )

    /** This process's refusals by reason (error code); set at scrape time. */
    function refusals(name: string, help: string, pick: 'requests' | 'events'): void {
      new client.Counter({
        name,
        help: `${help} by this process, by reason (error code)`,
        labelNames: ['reason'],
        registers,
        collect() {
          this.reset()
          for (const [reason, n] of sources.edge.rejectedBy) this.inc({ reason }, n[pick])
        },
      })
    }

    /** A counter whose value this process already keeps; set at scrape time. */
    function counter(name: string, help: string, value: () => number): void {
      new client.Counter({
        name,
        help,
        registers,
        collect() {
          this.reset()
          this.inc(value())
        },
      })
    }
  }

  /** Every HTTP answer; a publish answered 4xx is a refusal, counted whatever refused it. */
  response(route: string, status: number | null, seconds: number, code: ErrorCode | null): void {
    if (route === 'publish' && code !== null && status !== null && status < 500) {
      this.edge.refuse(code)
    }
    if (route === 'publish' && code !== null) {
      this.publishErrors.set(code, (this.publishErrors.get(code) ?? 0) + 1)
    }
    this.responses.inc({ route, status: status === null ? 'aborted' : String(status) })
    this.requestSeconds.observe({ route }, seconds)
  }

  /** Every shard's batch reports; the histograms describe committed batches. */
  batch(report: BatchReport): void {
    if (report.failed !== undefined) return
    this.batchSeconds.observe(report.ms / 1000)
    this.batchEvents.observe(report.events)
  }

  /** The publish latency and batch commit histograms as they stand: the dashboard's p50/p99. */
  async latencies(): Promise<{ request: Histogram; commit: Histogram }> {
    const [request, commit] = await Promise.all([
      this.requestSeconds.get(),
      this.batchSeconds.get(),
    ])
    return {
      request: buckets(request.values.filter((v) => v.labels.route === 'publish')),
      commit: buckets(commit.values),
    }
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }
}

/** A histogram's cumulative bucket counts, in bound order, from prom-client's values. */
function buckets(
  values: {
    value: number
    labels: Partial<Record<string, string | number>>
    metricName?: string
  }[],
): Histogram {
  const rows = values
    .filter((v) => v.metricName?.endsWith('_bucket') === true)
    .map((v) => ({ le: v.labels.le === '+Inf' ? Infinity : Number(v.labels.le), n: v.value }))
    .sort((a, b) => a.le - b.le)
  return { bounds: rows.map((r) => r.le), counts: rows.map((r) => r.n) }
}
