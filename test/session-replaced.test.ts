/**
 * The worker's database session can be replaced between two batches (postgres.js ends a
 * connection after a random 30–60 min lifetime; a server can drop one): the next batch runs on a
 * fresh session without its temporary staging table, and must still commit with no backoff to
 * lean on (DB_RETRY_MS=0): a connection that a write finds dead gets one fresh one at once. A
 * batch that does fail answers a fixed message: the database's words go to the log, never to
 * the client. Within a batch, a session replaced before its COMMIT must fail the batch: the
 * COMMIT would otherwise succeed on the new session, with nothing to commit.
 */
import { once } from 'node:events'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import postgres from 'postgres'
import t from 'tap'
import type { SocketOption } from '../src/db/connect.js'
import { stagingRow } from '../src/db/copy-text.js'
import { committed } from '../src/db/in-doubt.js'
import { mergeBatch } from '../src/db/merge.js'
import { unitEvent } from './fixtures/pipeline.js'
import { startApp } from './support/app.js'
import { event, post } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'

const db = await testDatabase(t)
const server = await startApp(t, { DATABASE_URL: db.url, SHARDS: '1', DB_RETRY_MS: '0' })
const { url } = server

/**
 * Ends the app's sessions from the server side and waits until those are gone (the feed's
 * listener reconnects at once, so the app is never without a session for long).
 */
async function replaceSessions(sql: postgres.Sql): Promise<void> {
  const ended = await sql<{ pid: number }[]>`
    SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE application_name = 'pubsub-aggregator' AND datname = current_database()`
  const pids = ended.map((row) => row.pid)
  for (;;) {
    const [row] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY(${pids}::int[])`
    if (row!.n === 0) return
    await sleep(20)
  }
}

t.test('a batch on a replaced session commits, with DB_RETRY_MS=0', async (t) => {
  t.equal((await post(url, '/publish', [event({ topic: 'session.first' })])).status, 200)
  await replaceSessions(db.sql)
  const reply = await post(url, '/publish', [event({ topic: 'session.replaced' })])
  t.equal(reply.status, 200)
  t.equal(reply.body.unique, 1)
  t.equal(await storedEvents(db.sql, 'session.replaced'), 1)
})

t.test('a failed batch answers a fixed message and logs the database error', async (t) => {
  await db.sql`ALTER TABLE events RENAME TO events_away`
  t.teardown(() => db.sql`ALTER TABLE events_away RENAME TO events`)
  const reply = await post(url, '/publish', [event({ topic: 'session.refused' })])
  t.equal(reply.status, 503)
  t.equal(reply.body.error, 'store_unavailable')
  t.notMatch(reply.body.message, /relation|exist|42P01/, 'no database text in the answer')
  const failed = server.logs
    .filter((line) => line.msg === 'batch failed; its requests get 503')
    .at(-1)
  t.match(failed, { err: { message: /^\[42P01\] relation "events" does not exist/ } })
})

t.test(
  'a COMMIT that would reach a replacement session fails, and nothing is stored',
  async (t) => {
    // a client whose socket the test holds, to lose it between the merge and the COMMIT
    let socket: net.Socket | null = null
    const held: SocketOption = {
      socket: ({ host, port }) => (socket = net.connect({ host: host[0]!, port: port[0]! })),
    }
    const sql = postgres(db.url, { max: 1, onnotice: () => {}, ...held })
    t.teardown(() => sql.end({ timeout: 0 }))
    const rows = Buffer.from(stagingRow(1, unitEvent('session.lost', '1')))
    let doubt: string | null = null
    const write = mergeBatch(sql, rows, { instance: 'session-test', shard: 0 }, false, {
      began: () => {},
      async committing(transaction) {
        doubt = transaction
        const lost = socket!
        lost.destroy()
        // postgres.js has heard of it (its listener came first) and opens a new session next
        await once(lost, 'close')
      },
    })
    await t.rejects(write, { code: 'ERR_AGG_SESSION_REPLACED', message: /nothing was committed/ })
    t.equal(await storedEvents(db.sql, 'session.lost'), 0)
    t.equal(await committed(db.sql, doubt!), false, 'the retry finds the transaction not committed')
  },
)
