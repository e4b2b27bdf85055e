/**
 * Poison isolation: a request whose events cannot be stored within DB_TIMEOUT_MS (here test-only
 * triggers that sleep on one topic, at insert or at commit, in this file's own database) fails
 * alone; the requests batched
 * with it are stored, and the statement that overran is cancelled in PostgreSQL rather than left
 * running and holding its locks.
 */
import t, { type Test } from 'tap'
import { startApp } from './support/app.js'
import { event, post, stats } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'

/** Inserting an event of this topic takes a minute. */
const SLOW_INSERT = 'poison.insert'
/** Committing an event of this topic takes a minute (a deferred trigger, run by COMMIT). */
const SLOW_COMMIT = 'poison.commit'

const db = await testDatabase(t)
// test only: both far beyond DB_TIMEOUT_MS
await db.sql.unsafe(`
  CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN PERFORM pg_sleep(60); RETURN NEW; END $$;
  CREATE TRIGGER slow_insert BEFORE INSERT ON events
    FOR EACH ROW WHEN (NEW.topic = '${SLOW_INSERT}') EXECUTE FUNCTION slow();
  CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.topic = '${SLOW_COMMIT}') EXECUTE FUNCTION slow();
`)
const server = await startApp(t, {
  DATABASE_URL: db.url,
  SHARDS: '1',
  // concurrent requests linger into one batch
  FLUSH_INTERVAL_MS: '300',
  // room for a healthy half to be stored on a new session: in the container suite, reaching the
  // database by name and authenticating alone take 100–160 ms, and 300 ms was overrun
  DB_TIMEOUT_MS: '1000',
  DB_RETRY_MS: '2000',
})

/** The merge statements still running in this file's database, other than our own query. */
async function runningMerges(): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND state = 'active' AND query LIKE '%INSERT INTO events%'`
  return row!.n
}

const SPLIT = 'batch failed for what it holds; storing its halves apart'

/**
 * Eight requests of two events and, among them, one whose second event is of `poisonTopic`, all
 * at once: the poisoned one fails alone, the others are stored, nothing is left running.
 */
async function poisonAmongOthers(t: Test, poisonTopic: string): Promise<void> {
  const splits = server.logs.filter((line) => line.msg === SPLIT).length
  const before = await stats(server.url)
  const okTopic = `${poisonTopic}.ok`
  const good = Array.from({ length: 8 }, (_, i) => [
    event({ topic: okTopic }),
    event({ topic: `${okTopic}.${i}` }),
  ])
  const poisoned = [event({ topic: okTopic }), event({ topic: poisonTopic })]
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
    server.logs.filter((line) => line.msg === SPLIT).length > splits,
    'the requests were batched together, and the batch was split',
  )
  t.equal(
    await storedEvents(db.sql, okTopic),
    8,
    "the poisoned request's other event is not stored",
  )
  t.equal(await storedEvents(db.sql, poisonTopic), 0)
  t.match(await stats(server.url), {
    unique_processed: before.unique_processed + 16,
    duplicate_dropped: before.duplicate_dropped,
  })
  t.equal(await runningMerges(), 0, 'no statement of the worker is left running in PostgreSQL')
}

t.test(
  'a request that cannot be inserted in time fails alone; the others batched with it are stored',
  (t) => poisonAmongOthers(t, SLOW_INSERT),
)

t.test(
  'a request that cannot be committed in time fails alone; the others batched with it are stored',
  (t) => poisonAmongOthers(t, SLOW_COMMIT),
)
