/**
 * Clients offering far more than the service can commit: queues stay within QUEUE_MAX_EVENTS,
 * the excess gets 503 + Retry-After, memory stays bounded, nothing acknowledged is lost, and
 * service resumes when the load drops. The run lasts until enough was refused and stored (counts,
 * not a duration), so a slow machine runs longer instead of failing. A child process, so its
 * memory is the service's own.
 */
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { startProcess } from './support/aggregator.js'
import { event, post, stats, waitForStats, type Reply } from './support/client.js'
import { testDatabase } from './support/database.js'
import { startLoad } from './support/load.js'

const QUEUE_MAX_EVENTS = 2000
const RSS_BOUND_MB = 400
/** The run ends once this many requests were refused and this many events acknowledged. */
const REFUSED_REQUESTS = 500
const ACKED_EVENTS = 20_000

const db = await testDatabase(t)
// a deliberately small capacity (one shard, small batches, a linger) so the test can offer
// several times more than it commits from the same two cores
const server = await startProcess(t, {
  DATABASE_URL: db.url,
  SHARDS: '1',
  BATCH_MAX_EVENTS: '100',
  FLUSH_INTERVAL_MS: '25',
  QUEUE_MAX_EVENTS: String(QUEUE_MAX_EVENTS),
})

const rssMb = async () => {
  const status = await readFile(`/proc/${server.child.pid}/status`, 'utf8')
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024)
}

t.test('overload: bounded queues and memory, 503s, no acknowledged event lost', async (t) => {
  const load = startLoad(server.url, {
    concurrency: 24,
    batch: 100,
    topic: 'overload',
    backoffMs: 0,
  })
  let deepestQueue = 0
  let peakRss = 0
  let refusal: Reply<{ error?: string }> | null = null
  while ((load.statuses.get(503) ?? 0) < REFUSED_REQUESTS || load.acked.length < ACKED_EVENTS) {
    const now = await stats(server.url)
    deepestQueue = Math.max(
      deepestQueue,
      now.shards.reduce((n, s) => n + s.queue_depth, 0),
    )
    peakRss = Math.max(peakRss, await rssMb())
    if (refusal === null) {
      const probe = await post(server.url, '/publish', [event({ topic: 'overload.probe' })])
      if (probe.status === 503) refusal = probe
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  await load.stop()
  t.comment(
    `offered ${load.sent.length} events, acknowledged ${load.acked.length}, ${load.statuses.get(503)} requests refused, peak RSS ${peakRss} MB, deepest queue ${deepestQueue}`,
  )
  t.ok(deepestQueue <= QUEUE_MAX_EVENTS, `queue never above QUEUE_MAX_EVENTS (${deepestQueue})`)
  t.equal(refusal?.body.error, 'queue_full', 'the excess is refused because the queues are full')
  t.equal(refusal?.headers.get('retry-after'), '1', '503 carries Retry-After')
  t.ok(peakRss < RSS_BOUND_MB, `RSS stayed under ${RSS_BOUND_MB} MB (${peakRss} MB)`)
  t.same(
    [...load.statuses.keys()].filter((s) => s !== 200 && s !== 503),
    [],
    'only 200 and 503',
  )

  const drained = await waitForStats(server.url, (s) => s.in_flight === 0)
  t.equal(drained.in_flight, 0)
  const ids = load.acked.map((e) => e.event_id)
  const [row] = await db.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM events WHERE event_id = ANY(${ids})`
  t.equal(row!.n, ids.length, `all ${ids.length} acknowledged events are stored`)

  const after = await post(server.url, '/publish', [event({ topic: 'overload.after' })])
  t.equal(after.status, 200, 'once the load drops, requests are accepted again')
})
