/** The Prometheus text of /metrics for given inputs: fake shard stats and edge counters. */
import t from 'tap'
import type { BatchReport, ShardStats } from '../../src/pipeline/shard.js'
import { BatchFailed } from '../../src/pipeline/ticket.js'
import { Metrics } from '../../src/stats/metrics.js'
import pino from 'pino'
import { EdgeCounters } from '../../src/stats/edge.js'

const shard = (index: number, s: Partial<ShardStats>): ShardStats => ({
  shard: index,
  queue_depth: 0,
  batching: 0,
  batches: 0,
  events: 0,
  stored: 0,
  duplicates: 0,
  failed_batches: 0,
  failed_events: 0,
  last_batch_ms: null,
  worker_up: true,
  ...s,
})

/** A committed batch of `events` (all new) that took `ms`. */
const committed = (ms: number, events: number): BatchReport => ({
  shard: 0,
  parts: 1,
  events,
  unique: events,
  duplicates: 0,
  ms,
  attempts: 1,
  topics: [],
})

/** A scrape's samples by series, `name{labels}` as printed: `{ 'x_total{route="a"}': 2 }`. */
async function samples(m: Metrics): Promise<Record<string, number>> {
  const lines = (await m.text()).split('\n').filter((l) => l !== '' && !l.startsWith('#'))
  return Object.fromEntries(
    lines.map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]),
  )
}

function metrics(shards: ShardStats[] = [], inFlight = 0) {
  const edge = new EdgeCounters(pino({ level: 'silent' }))
  const metrics = new Metrics({
    shards: () => shards,
    inFlight: () => inFlight,
    edge,
    version: '1.2.3',
    queueFill: () => 0.25,
    databaseUp: async () => false,
    streams: () => ({ subscribers: 2, reads: 5, bufferedBytes: 7 }),
  })
  return { edge, metrics }
}

t.test('event counters are read at scrape time from the shards and the edge', async (t) => {
  const shards = [
    shard(0, { stored: 7, duplicates: 3, failed_events: 1, queue_depth: 4 }),
    shard(1, { stored: 5, duplicates: 0, queue_depth: 0 }),
  ]
  const { edge, metrics: m } = metrics(shards, 6)
  edge.accepted = 21
  edge.refusedEvents('validation', 2)
  edge.refusedEvents('too_many_events', 5)
  edge.refusedEvents('validation', 1)
  t.match(await samples(m), {
    aggregator_events_received_total: 21,
    aggregator_events_stored_total: 12,
    aggregator_events_duplicate_total: 3,
    aggregator_events_failed_total: 1,
    'aggregator_events_rejected_total{reason="validation"}': 3,
    'aggregator_events_rejected_total{reason="too_many_events"}': 5,
    'aggregator_queue_depth_events{shard="0"}': 4,
    'aggregator_queue_depth_events{shard="1"}': 0,
    aggregator_in_flight_events: 6,
  })
  shards[1]!.stored = 9
  edge.accepted = 25
  t.match(
    await samples(m),
    { aggregator_events_stored_total: 16, aggregator_events_received_total: 25 },
    'a later scrape sees the new counts',
  )
})

t.test('each answer counts by route and status, and its duration is observed', async (t) => {
  const { metrics: m } = metrics()
  m.response('publish', 200, 0.004, null)
  m.response('publish', 200, 0.2, null)
  m.response('publish', 503, 0.001, null)
  m.response('events', null, 0.03, null)
  t.match(await samples(m), {
    'aggregator_http_responses_total{route="publish",status="200"}': 2,
    'aggregator_http_responses_total{route="publish",status="503"}': 1,
    'aggregator_http_responses_total{route="events",status="aborted"}': 1,
    'aggregator_http_request_duration_seconds_count{route="publish"}': 3,
    'aggregator_http_request_duration_seconds_bucket{le="0.005",route="publish"}': 2,
    'aggregator_http_request_duration_seconds_bucket{le="0.25",route="publish"}': 3,
    'aggregator_http_request_duration_seconds_sum{route="events"}': 0.03,
  })
})

t.test('each committed batch is observed: its duration in seconds and its size', async (t) => {
  const { metrics: m } = metrics()
  m.batch(committed(8, 40))
  m.batch(committed(120, 2500))
  m.batch({ ...committed(3000, 100), unique: 0, attempts: 0, failed: new BatchFailed() })
  t.match(
    await samples(m),
    {
      aggregator_batch_commit_duration_seconds_count: 2,
      aggregator_batch_commit_duration_seconds_sum: 0.128,
      'aggregator_batch_commit_duration_seconds_bucket{le="0.01"}': 1,
      aggregator_batch_events_sum: 2540,
      'aggregator_batch_events_bucket{le="50"}': 1,
      'aggregator_batch_events_bucket{le="2500"}': 2,
      aggregator_batch_events_count: 2,
    },
    'a failed batch is not among them',
  )
})

t.test(
  'the text is Prometheus exposition format, with help, types and process metrics',
  async (t) => {
    const { metrics: m } = metrics()
    t.match(m.contentType, /^text\/plain; version=0\.0\.4/)
    const text = await m.text()
    t.match(text, /^# HELP aggregator_events_received_total Events accepted into the pipeline$/m)
    t.match(text, /^# TYPE aggregator_events_received_total counter$/m)
    t.match(text, /^# TYPE aggregator_queue_depth_events gauge$/m)
    t.match(text, /^# TYPE aggregator_batch_events histogram$/m)
    t.match(text, /^aggregator_process_cpu_seconds_total \d/m)
    t.match(text, /^aggregator_nodejs_heap_size_used_bytes \d/m)
  },
)

t.test('two instances in one process keep separate registries', async (t) => {
  const a = metrics()
  const b = metrics()
  a.metrics.batch(committed(5, 10))
  t.equal((await samples(a.metrics)).aggregator_batch_events_count, 1)
  t.equal((await samples(b.metrics)).aggregator_batch_events_count, 0)
})

t.test(
  'a publish answered 4xx is one refusal by its code; a 503 or a success is none',
  async (t) => {
    const { edge, metrics: m } = metrics()
    m.response('publish', 415, 0.001, 'unsupported_media_type')
    m.response('publish', 413, 0.001, 'body_too_large')
    m.response('publish', 503, 0.001, 'queue_full')
    m.response('publish', 200, 0.001, null)
    m.response('events', 400, 0.001, 'invalid_query')
    t.same(
      [...edge.rejectedBy],
      [
        ['unsupported_media_type', { requests: 1, events: 0 }],
        ['body_too_large', { requests: 1, events: 0 }],
      ],
    )
    t.same(edge.unsavedTotal(), { requests: 2, events: 0 })
  },
)

t.test('the version, the queue fill and the database state are gauges for alerts', async (t) => {
  const { metrics: m } = metrics()
  t.match(await samples(m), {
    'aggregator_build_info{version="1.2.3"}': 1,
    aggregator_queue_fill_ratio: 0.25,
    aggregator_database_up: 0,
  })
})
