/**
 * PostgreSQL stopped mid-load, then started again: while it is down /readyz says so and every
 * request is answered (503) rather than left waiting for the database; the service recovers by
 * itself and no acknowledged event is lost. Its own server, the one thing here that stops it.
 */
import postgres from 'postgres'
import t from 'tap'
import { spawnAggregator } from './support/aggregator.js'
import { startLoad } from './support/load.js'
import { startPostgres } from './support/postgres.js'

const pg = await startPostgres()
t.teardown(() => pg.stop())
const skip =
  pg.outage === undefined &&
  'needs the embedded server: a server given by DATABASE_URL cannot be stopped from here'

const ready = async (base: string) => {
  const res = await fetch(`${base}/readyz`)
  await res.arrayBuffer()
  return res.status
}

const metricsText = async (base: string) => (await fetch(`${base}/metrics`)).text()

/** Polls until `check` holds; a check that never holds ends in the test's timeout. */
async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50))
}

t.test(
  'a database outage is survived without a restart and without losing acks',
  { skip },
  async (t) => {
    const outage = pg.outage!
    const url = await pg.createDatabase('outage')
    const server = await spawnAggregator({
      DATABASE_URL: url,
      DB_TIMEOUT_MS: '1500',
      DB_RETRY_MS: '2000',
    })
    t.teardown(() => server.stop())
    const load = startLoad(server.url, { concurrency: 6, batch: 30, topic: 'outage' })
    await until(() => load.acked.length >= 600)

    await outage.stop()
    await until(async () => (await ready(server.url)) === 503)
    t.pass('/readyz answers 503 during the outage')
    t.match(await metricsText(server.url), /^aggregator_database_up 0$/m, 'and /metrics says so')
    // sent before and during the outage, answered while the database is still down
    await load.answered()
    await load.answered()
    t.ok((load.statuses.get(503) ?? 0) > 0, 'requests during the outage got 503')
    const ackedBefore = load.acked.length
    await outage.start()

    await until(async () => (await ready(server.url)) === 200)
    t.pass('/readyz recovers by itself')
    t.match(await metricsText(server.url), /^aggregator_database_up 1$/m)
    const recoveredAt = load.acked.length
    await until(() => load.acked.length >= recoveredAt + 600)
    await load.stop()
    t.ok(load.acked.length > ackedBefore, 'publishing works again after the outage')
    for (const status of load.statuses.keys())
      t.ok(status === 200 || status === 503, `status ${status}`)

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
