/** SIGTERM while clients are sending: accepted requests are answered after commit, exit 0. */
import t from 'tap'
import { spawnAggregator } from './support/aggregator.js'
import { startLoad } from './support/load.js'
import { testDatabase } from './support/database.js'

const db = await testDatabase(t)

t.test('a SIGTERM under load drains: acknowledged events are stored, exit 0', async (t) => {
  const server = await spawnAggregator({ DATABASE_URL: db.url, SHUTDOWN_TIMEOUT_MS: '20000' })
  const load = startLoad(server.url, { concurrency: 8, batch: 50, topic: 'shutdown' })
  while (load.acked.length < 2000) await new Promise((r) => setTimeout(r, 5))
  const signalled = performance.now()
  const code = await server.stop('SIGTERM')
  const tookMs = performance.now() - signalled
  await load.stop()
  t.equal(code, 0, 'exits 0')
  t.ok(tookMs < 20_000, `stopped within SHUTDOWN_TIMEOUT_MS (${Math.round(tookMs)} ms)`)
  t.ok(server.logs.some((l) => l.msg === 'stopped cleanly'))
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
  // a long linger keeps events queued, so the drain is still running at the second signal
  const server = await spawnAggregator({ DATABASE_URL: db.url, FLUSH_INTERVAL_MS: '5000' })
  const load = startLoad(server.url, { concurrency: 4, batch: 20, topic: 'shutdown.forced' })
  await new Promise((r) => setTimeout(r, 300))
  server.child.kill('SIGTERM')
  while (!server.logs.some((l) => String(l.msg).startsWith('shutting down'))) {
    await new Promise((r) => setTimeout(r, 5))
  }
  server.child.kill('SIGTERM')
  t.equal(await server.stop(), 130, 'exits 130 without waiting for the drain')
  await load.stop()
})
