/**
 * PostgreSQL stopped for several seconds mid-load, then started again: requests are answered
 * within a bound, /readyz reports the outage, the service recovers by itself, and no
 * acknowledged event is lost.
 */
import postgres from 'postgres'
import t from 'tap'
import { spawnAggregator } from './support/aggregator.js'
import { startPostgres } from './support/postgres.js'
import { startLoad } from './support/load.js'

const pg = await startPostgres()
t.teardown(() => pg.stop())
const skip =
  pg.outage === undefined &&
  'needs the embedded server: a server given by DATABASE_URL cannot be stopped from here'
const url = await pg.createDatabase('outage')
const DB_TIMEOUT_MS = 1500
const DB_RETRY_MS = 2000

const ready = async (base: string) => {
  const res = await fetch(`${base}/readyz`)
  await res.arrayBuffer()
  return res.status
}

t.test(
  'a database outage is survived without a restart and without losing acks',
  { skip },
  async (t) => {
    const outage = pg.outage!
    const server = await spawnAggregator({
      DATABASE_URL: url,
      DB_TIMEOUT_MS: String(DB_TIMEOUT_MS),
      DB_RETRY_MS: String(DB_RETRY_MS),
    })
    t.teardown(() => server.stop())
    const load = startLoad(server.url, { concurrency: 6, batch: 30, topic: 'outage' })
    while (load.acked.length < 600) await new Promise((r) => setTimeout(r, 5))

    await outage.stop()
    const readiness: number[] = []
    const downSince = performance.now()
    while (performance.now() - downSince < 5000) {
      readiness.push(await ready(server.url))
      await new Promise((r) => setTimeout(r, 250))
    }
    t.ok(readiness.includes(503), '/readyz answers 503 during the outage')
    const ackedBefore = load.acked.length
    await outage.start()

    const upSince = performance.now()
    while ((await ready(server.url)) !== 200) {
      if (performance.now() - upSince > 15_000) break
      await new Promise((r) => setTimeout(r, 100))
    }
    t.equal(await ready(server.url), 200, '/readyz recovers by itself')
    const recoveredAt = load.acked.length
    while (load.acked.length < recoveredAt + 600) await new Promise((r) => setTimeout(r, 5))
    await load.stop()
    t.ok(load.acked.length > ackedBefore, 'publishing works again after the outage')

    t.ok((load.statuses.get(503) ?? 0) > 0, 'requests during the outage got 503')
    for (const status of load.statuses.keys())
      t.ok(status === 200 || status === 503, `status ${status}`)
    const bound = DB_TIMEOUT_MS + DB_RETRY_MS + 3000
    t.ok(
      load.slowestMs < bound,
      `no request hung: slowest ${Math.round(load.slowestMs)} ms < ${bound} ms`,
    )

    const sql = postgres(url, { max: 1, onnotice: () => {} })
    t.teardown(() => sql.end({ timeout: 5 }))
    const ids = load.acked.map((e) => e.event_id)
    const [row] = await sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM events WHERE event_id = ANY(${ids})`
    t.equal(row!.n, ids.length, `all ${ids.length} acknowledged events are stored`)
    const [counted] = await sql<
      { u: number }[]
    >`SELECT sum(unique_processed)::int AS u FROM counters`
    const [rows] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events`
    t.equal(counted!.u, rows!.n, 'the counters still match the rows')
  },
)
