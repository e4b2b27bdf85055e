/**
 * Clients offering several times what the service can commit, for 30 s: queues stay within
 * QUEUE_MAX_EVENTS, the excess gets 503 + Retry-After, memory stays bounded, nothing
 * acknowledged is lost, and service resumes when the load drops.
 */
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { event, post, waitForStats } from './support/client.js'
import { startLoad } from './support/load.js'
import { testDatabase } from './support/database.js'
import { startProcess } from './support/aggregator.js'

const QUEUE_MAX_EVENTS = 2000
const RSS_BOUND_MB = 400

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

t.test(
  '30 s of overload: bounded queues and memory, 503s, no acknowledged event lost',
  async (t) => {
    const load = startLoad(server.url, {
      concurrency: 24,
      batch: 100,
      topic: 'overload',
      backoffMs: 0,
    })
    let deepestQueue = 0
    let peakRss = 0
    let retryAfter: string | null = null
    const started = performance.now()
    while (performance.now() - started < 30_000) {
      const stats = await waitForStats(server.url, () => true)
      deepestQueue = Math.max(
        deepestQueue,
        stats.shards.reduce((n, s) => n + s.queue_depth, 0),
      )
      peakRss = Math.max(peakRss, await rssMb())
      if (retryAfter === null) {
        const probe = await fetch(`${server.url}/publish`, {
          method: 'POST',
          body: new TextEncoder().encode(JSON.stringify([event({ topic: 'overload.probe' })])),
        })
        if (probe.status === 503) retryAfter = probe.headers.get('retry-after')
        await probe.arrayBuffer()
      }
      await new Promise((r) => setTimeout(r, 200))
    }
    await load.stop()
    const seconds = (performance.now() - started) / 1000
    const offered = load.sent.length / seconds
    const committed = load.acked.length / seconds
    t.comment(
      `offered ${Math.round(offered)} events/s, acknowledged ${Math.round(committed)} events/s, peak RSS ${peakRss} MB, deepest queue ${deepestQueue}`,
    )
    t.ok(
      offered >= 5 * committed,
      `offered ≥ 5× what was committed (${(offered / committed).toFixed(1)}×)`,
    )
    t.ok(deepestQueue <= QUEUE_MAX_EVENTS, `queue never above QUEUE_MAX_EVENTS (${deepestQueue})`)
    t.ok((load.statuses.get(503) ?? 0) > 0, 'the excess got 503')
    t.equal(retryAfter, '1', '503 carries Retry-After')
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
  },
)
