/**
 * A commit whose acknowledgement is lost (here: a COMMIT slower than DB_TIMEOUT_MS, so the attempt
 * is abandoned while PostgreSQL goes on and commits it) must not be stored or counted again by
 * the retry: the client hears its new event was new, and the counters say one event, once. The
 * abandoned attempt is cancelled, but this commit goes on regardless, as one whose commit record
 * is being flushed would.
 */
import t from 'tap'
import { startApp } from './support/app.js'
import { event, post, stats } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'

const SLOW_TOPIC = 'ambiguous.slow'

/**
 * Room for a batch to reach its COMMIT on a new session: in the container suite, reaching the
 * database by name and authenticating alone take 100–160 ms, and 500 ms was overrun under load.
 * Short all the same: the slow commit holds back the feed of every test sharing the server.
 */
const DB_TIMEOUT_S = 1

const db = await testDatabase(t)
// test only: a commit holding an event of SLOW_TOPIC takes twice DB_TIMEOUT_MS, and a cancel
// does not stop it
await db.sql.unsafe(`
  CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_sleep(${2 * DB_TIMEOUT_S}); RETURN NULL;
    EXCEPTION WHEN query_canceled THEN PERFORM pg_sleep(${DB_TIMEOUT_S}); RETURN NULL;
    END $$;
  CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.topic = '${SLOW_TOPIC}') EXECUTE FUNCTION slow_commit();
`)
const server = await startApp(t, {
  DATABASE_URL: db.url,
  SHARDS: '1',
  DB_TIMEOUT_MS: String(DB_TIMEOUT_S * 1000),
  DB_RETRY_MS: '20000',
})

t.test(
  'a retry after a lost commit acknowledgement answers and counts the batch once',
  async (t) => {
    const reply = await post(server.url, '/publish', [event({ topic: SLOW_TOPIC })])
    t.equal(reply.status, 200)
    t.match(reply.body, { accepted: 1, unique: 1, duplicates: 0 })
    const committed = server.logs.find((line) => line.msg === 'batch committed')
    t.ok((committed?.attempts as number) > 1, 'the first attempt was abandoned during its commit')
    t.equal(await storedEvents(db.sql, SLOW_TOPIC), 1)
    t.match(await stats(server.url), { received: 1, unique_processed: 1, duplicate_dropped: 0 })
  },
)
