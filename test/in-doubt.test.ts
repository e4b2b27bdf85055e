/**
 * Settling a transaction left in doubt, against a real PostgreSQL: committed, aborted, and a
 * session still idle in the transaction (its COMMIT never arrived), which is ended so the answer
 * is final at once.
 */
import postgres from 'postgres'
import t from 'tap'
import { committed } from '../src/db/in-doubt.js'
import { testDatabase } from './support/database.js'

const db = await testDatabase(t)

/** A session that began a transaction and inserted one event, left open; with its id. */
async function begun(sql: postgres.Sql, topic: string) {
  const reserved = await sql.reserve()
  await reserved`BEGIN`
  await reserved`
    INSERT INTO events (topic, event_id, ts, source, payload)
    VALUES (${topic}, '1', now(), 'test', '{}')`
  const [row] = await reserved<{ id: string }[]>`SELECT pg_current_xact_id()::text AS id`
  return { reserved, id: row!.id }
}

/** Runs `end` on a transaction that inserted one event; returns the transaction's id. */
async function ended(end: 'commit' | 'rollback', topic: string): Promise<string> {
  const { reserved, id } = await begun(db.sql, topic)
  await reserved.unsafe(end)
  reserved.release()
  return id
}

t.test('a committed transaction is known as committed', async (t) => {
  t.equal(await committed(db.sql, await ended('commit', 'doubt.committed')), true)
})

t.test('a rolled back transaction is known as not committed', async (t) => {
  t.equal(await committed(db.sql, await ended('rollback', 'doubt.aborted')), false)
})

t.test('a session idle in the transaction is ended: it can no longer commit', async (t) => {
  const stranded = postgres(db.url, { max: 1, onnotice: () => {} })
  t.teardown(() => stranded.end({ timeout: 0 }).catch(() => {}))
  const { id } = await begun(stranded, 'doubt.stranded')
  t.equal(await committed(db.sql, id), false)
  const [fate] = await db.sql<{ status: string }[]>`
    SELECT pg_xact_status(${id}::xid8) AS status`
  t.equal(fate!.status, 'aborted', 'ended, its transaction rolled back')
})
