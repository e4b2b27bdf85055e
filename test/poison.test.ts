/**
 * Poison isolation: a request whose events cannot be stored within DB_TIMEOUT_MS (here a test-only
 * trigger that sleeps on one topic, in this file's own database) fails alone; the requests batched
 * with it are stored, and the statement that overran is cancelled in PostgreSQL rather than left
 * running and holding its locks.
 */
import t from 'tap'
import { startApp } from './support/app.js'
import { event, post, stats } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'

const POISON_TOPIC = 'poison.slow'

const db = await testDatabase(t)
// test only: storing an event of POISON_TOPIC takes a minute, far beyond DB_TIMEOUT_MS
await db.sql.unsafe(`
  CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$;
  CREATE TRIGGER slow_insert BEFORE INSERT ON events
    FOR EACH ROW WHEN (NEW.topic = '${POISON_TOPIC}') EXECUTE FUNCTION slow_insert();
`)
const server = await startApp(t, {
  DATABASE_URL: db.url,
  SHARDS: '1',
  // concurrent requests linger into one batch
  FLUSH_INTERVAL_MS: '300',
  DB_TIMEOUT_MS: '300',
  DB_RETRY_MS: '600',
})

/** The merge statements still running in this file's database, other than our own query. */
async function runningMerges(): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND state = 'active' AND query LIKE '%INSERT INTO events%'`
  return row!.n
}

t.test(
  'a request that cannot be stored in time fails alone; the others batched with it are stored',
  async (t) => {
    const good = Array.from({ length: 8 }, (_, i) => [
      event({ topic: 'poison.ok' }),
      event({ topic: `poison.ok${i}` }),
    ])
    const poisoned = [event({ topic: 'poison.ok' }), event({ topic: POISON_TOPIC })]
    const replies = await Promise.all(
      [...good.slice(0, 4), poisoned, ...good.slice(4)].map((events) =>
        post(server.url, '/publish', events),
      ),
    )
    const poisonReply = replies.splice(4, 1)[0]!
    t.equal(poisonReply.status, 503)
    t.match(poisonReply.body, { error: 'store_unavailable' })
    for (const reply of replies) {
      t.equal(reply.status, 200)
      t.match(reply.body, { accepted: 2, unique: 2, duplicates: 0 })
    }
    t.ok(
      server.logs.some(
        (line) => line.msg === 'batch failed for what it holds; storing its halves apart',
      ),
      'the requests were batched together, and the batch was split',
    )
    t.equal(
      await storedEvents(db.sql, 'poison.ok'),
      8,
      "the poisoned request's other event is not stored",
    )
    t.equal(await storedEvents(db.sql, POISON_TOPIC), 0)
    t.match(await stats(server.url), { unique_processed: 16, duplicate_dropped: 0 })
    t.equal(await runningMerges(), 0, 'no statement of the worker is left running in PostgreSQL')
  },
)
