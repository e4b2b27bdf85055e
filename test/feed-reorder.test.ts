/**
 * The reorder that made the old feed lose events: a batch draws the lower seq but commits after a
 * batch with a higher one. The first batch is held open deterministically: a trigger in this
 * test's database makes its insert wait for an advisory lock the test holds.
 *
 * On its own PostgreSQL: the transaction held open holds back the feed of every database on its
 * server, and other test files read theirs meanwhile.
 */
import t from 'tap'
import postgres from 'postgres'
import { shardOf } from '../src/pipeline/route.js'
import { startApp } from './support/app.js'
import { event, post, type TestEvent } from './support/client.js'
import { consumer, follow } from './support/consumer.js'
import { startPostgres } from './support/postgres.js'

const pg = await startPostgres()
t.teardown(() => pg.stop())
const url = await pg.createDatabase('feed_reorder')
// a first batch on this busy machine can take long: its answer must not time out
const app = await startApp(t, { DATABASE_URL: url, SHARDS: '2', ACK_TIMEOUT_MS: '120000' })
const sql = postgres(url, { max: 2, onnotice: () => {} })
t.teardown(() => sql.end({ timeout: 5 }))
const LOCK = 4242

/** An event of `topic` that shard `shard` (of 2) stores. */
function onShard(topic: string, shard: number): TestEvent {
  for (;;) {
    const e = event({ topic })
    if (shardOf(e.topic, e.event_id, 2) === shard) return e
  }
}

t.test(
  'an event committed late behind a higher seq is still delivered, exactly once',
  async (t) => {
    await sql.unsafe(`
    CREATE FUNCTION hold_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.topic = 'reorder.held' THEN PERFORM pg_advisory_xact_lock_shared(${LOCK}); END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER hold_insert BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION hold_insert();`)
    const holder = await sql.reserve()
    await holder`SELECT pg_advisory_lock(${LOCK})`
    const held = onShard('reorder.held', 0)
    const free = onShard('reorder.free', 1)
    // both shards' workers and connections up before the clock of `until` starts
    const warm = [onShard('reorder.warm', 0), onShard('reorder.warm', 1)]
    t.equal((await post(app.url, '/publish?ack=durable', warm)).status, 200)
    const reader = consumer()
    t.same(
      (await follow(app.url, reader)).sort(),
      warm.map((e) => e.event_id).sort(),
      'the feed so far',
    )
    reader.received.length = 0

    // shard 0's merge begins (its transaction id is now drawn, its seq too) and waits on the lock
    const heldReply = post(app.url, '/publish?ack=durable', held)
    await until(async () => {
      const [row] = await sql<{ waiting: number }[]>`
      SELECT count(*)::int AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`
      return row!.waiting === 1
    })
    // shard 1 commits a later event meanwhile
    t.equal((await post(app.url, '/publish?ack=durable', free)).status, 200)
    const [committed] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM events WHERE event_id = ${free.event_id}`
    t.equal(committed!.n, 1, 'the later event is committed and visible to any reader')
    t.same(await follow(app.url, reader), [], 'yet the feed holds it back behind the open one')

    await holder`SELECT pg_advisory_unlock(${LOCK})`
    holder.release()
    t.equal((await heldReply).status, 200, 'the held event commits')
    const [order] = await sql<{ held: string; free: string }[]>`
    SELECT (SELECT seq FROM events WHERE event_id = ${held.event_id})::text AS held,
           (SELECT seq FROM events WHERE event_id = ${free.event_id})::text AS free`
    t.ok(BigInt(order!.held) < BigInt(order!.free), 'the held event drew the lower seq')

    while (reader.received.length < 2) {
      if ((await follow(app.url, reader, { wait: 10 })).length === 0) break
    }
    t.same(
      reader.received,
      [held.event_id, free.event_id],
      'both, each once, the held one first: its transaction began first',
    )
    t.same(await follow(app.url, reader), [], 'and nothing more')
  },
)

async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 90_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('the merge never waited on the lock')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
