/**
 * SIGKILL in the middle of a load, several times at different moments: every event that got a
 * 2xx is stored, the counters match the rows, and resending the acknowledged events yields only
 * duplicates.
 */
import t from 'tap'
import { spawnAggregator } from './support/aggregator.js'
import { post, stats } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'
import { startLoad } from './support/load.js'

const db = await testDatabase(t)
const env = { DATABASE_URL: db.url, INSTANCE_ID: 'crash-test', SHARDS: '2' }

for (const killAfter of [40, 1000, 4000]) {
  t.test(`killed after ${killAfter} acknowledged events, none of them is lost`, async (t) => {
    const victim = await spawnAggregator(env)
    const load = startLoad(victim.url, { concurrency: 6, batch: 40, topic: `crash.${killAfter}` })
    while (load.acked.length < killAfter) await new Promise((r) => setTimeout(r, 5))
    await victim.stop('SIGKILL')
    await load.stop()
    t.ok(load.acked.length > 0, `${load.acked.length} events were acknowledged before the kill`)

    const revived = await spawnAggregator(env)
    t.teardown(() => revived.stop())
    const ids = load.acked.map((e) => e.event_id)
    const [row] = await db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM events WHERE event_id = ANY(${ids})`
    t.equal(row!.n, ids.length, 'every acknowledged event is stored')
    const s = await stats(revived.url)
    t.equal(s.unique_processed, await storedEvents(db.sql), 'unique_processed = stored rows')
    t.equal(s.received, s.unique_processed + s.duplicate_dropped)
    for (let i = 0; i < load.acked.length; i += 500) {
      const reply = await post(revived.url, '/publish', load.acked.slice(i, i + 500))
      t.equal(reply.body.unique, 0, 'a resend is only duplicates')
    }
    t.equal(await revived.stop(), 0)
  })
}
