/**
 * SIGTERM while clients are sending: accepted requests are answered after commit, exit 0. With
 * SHUTDOWN_DRAIN_MS, the replica first leaves a load balancer's rotation while still serving.
 */
import t from 'tap'
import { spawnAggregator, type Aggregator } from './support/aggregator.js'
import { event, get, post, waitForStats } from './support/client.js'
import { testDatabase } from './support/database.js'
import { startLoad } from './support/load.js'

const db = await testDatabase(t)

t.test('a SIGTERM under load drains: acknowledged events are stored, exit 0', async (t) => {
  const server = await spawnAggregator({ DATABASE_URL: db.url, SHUTDOWN_TIMEOUT_MS: '20000' })
  const load = startLoad(server.url, { concurrency: 8, batch: 50, topic: 'shutdown' })
  while (load.acked.length < 2000) await new Promise((r) => setTimeout(r, 5))
  const code = await server.stop('SIGTERM')
  await load.stop()
  // a shutdown past SHUTDOWN_TIMEOUT_MS would have exited 1 with `shutdown timed out`
  t.equal(code, 0, 'exits 0')
  t.ok(
    server.logs.some((l) => l.msg === 'stopped cleanly'),
    'logs that it stopped cleanly',
  )
  const allowed = new Set<number | string>([200, 503, 'SocketError', 'Error', 'TypeError'])
  for (const [status, n] of load.statuses) t.ok(allowed.has(status), `${n} × ${status}`)
  t.ok(
    (load.statuses.get(503) ?? 0) +
      [...load.statuses.keys()].filter((k) => typeof k === 'string').length >
      0,
    'requests after the signal were refused or found the port closed',
  )
  const ids = load.acked.map((e) => e.event_id)
  const [row] = await db.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM events WHERE event_id = ANY(${ids})`
  t.equal(row!.n, ids.length, `all ${ids.length} acknowledged events are stored`)
})

t.test('a second signal forces an immediate exit', async (t) => {
  // the events table is locked, so the drain cannot end before the second signal
  const server = await spawnAggregator({ DATABASE_URL: db.url, DB_TIMEOUT_MS: '600000' })
  const lock = await db.sql.reserve()
  await lock`BEGIN`
  await lock`LOCK TABLE events IN SHARE MODE`
  const blocked = post(server.url, '/publish', [event({ topic: 'shutdown.forced' })]).then(
    (reply) => reply.status,
    (error: Error) => error.message,
  )
  await waitForStats(server.url, (s) => s.in_flight > 0)
  server.child.kill('SIGTERM')
  await logged(server, 'shutting down')
  server.child.kill('SIGTERM')
  t.equal(await server.stop(), 130, 'exits 130 without waiting for the drain')
  await lock`ROLLBACK`
  lock.release()
  t.equal(await blocked, 'fetch failed', 'the request left in the drain gets no answer at all')
})

t.test(
  'on SIGTERM /readyz answers 503 at once while publishes are still served, for SHUTDOWN_DRAIN_MS',
  async (t) => {
    const server = await spawnAggregator({ DATABASE_URL: db.url, SHUTDOWN_DRAIN_MS: '15000' })
    t.equal((await get(server.url, '/readyz')).status, 200, 'in rotation before the signal')
    server.child.kill('SIGTERM')
    await logged(server, 'leaving rotation')
    const readyz = await get(server.url, '/readyz')
    t.equal(readyz.status, 503, '/readyz takes the replica out of rotation')
    t.equal(readyz.body.status, 'closing')
    const late = event({ topic: 'shutdown.rotation' })
    const published = await post(server.url, '/publish', [late])
    t.equal(published.status, 200, 'a publish during the drain period is stored and acknowledged')
    t.equal((await get(server.url, '/stats')).status, 200, 'reads are served too')
    t.equal((await get(server.url, '/healthz')).status, 200, 'the process is alive')
    t.equal(await server.exited, 0, 'then it drains and exits 0')
    const order = server.logs.map((l) => String(l.msg))
    t.ok(
      order.findIndex((m) => m.startsWith('leaving rotation')) <
        order.findIndex((m) => m === 'stopped cleanly'),
      'leaves rotation before it stops',
    )
    const [row] = await db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM events WHERE event_id = ${late.event_id}`
    t.equal(row!.n, 1, 'the event published during the drain period is stored')
  },
)

t.test('SIGINT (Ctrl-C) skips the drain period: nothing to leave at a terminal', async (t) => {
  const server = await spawnAggregator({
    DATABASE_URL: db.url,
    SHUTDOWN_DRAIN_MS: '500000',
    SHUTDOWN_TIMEOUT_MS: '600000',
  })
  t.equal(await server.stop('SIGINT'), 0)
  t.notOk(
    server.logs.some((l) => String(l.msg).startsWith('leaving rotation')),
    'no drain period',
  )
})

async function logged(server: Aggregator, prefix: string): Promise<void> {
  while (!server.logs.some((l) => String(l.msg).startsWith(prefix))) {
    await new Promise((r) => setTimeout(r, 5))
  }
}
