/**
 * The merge on its own, against a real PostgreSQL: a writer's instance id is written into the
 * batch's query as an SQL literal, so one with quotes and backslashes must name its counter rows
 * exactly as given, whatever the server's `standard_conforming_strings` (off, backslashes in a
 * plain literal are escapes).
 */
import postgres from 'postgres'
import t from 'tap'
import { stagingRow } from '../src/db/copy-text.js'
import { mergeBatch } from '../src/db/merge.js'
import { unitEvent } from './fixtures/pipeline.js'
import { storedEvents, testDatabase } from './support/database.js'

const db = await testDatabase(t)

t.test('an instance id with quotes and backslashes names its counter rows as given', async (t) => {
  const sql = postgres(db.url, {
    max: 1,
    onnotice: () => {},
    connection: { standard_conforming_strings: 'off' },
  })
  t.teardown(() => sql.end({ timeout: 0 }))
  const instance = String.raw`o'brien \n \\ "x"`
  const rows = Buffer.from(stagingRow(1, unitEvent('merge.quoted', '1')))
  let stored: number | null = null
  await mergeBatch(sql, rows, { instance, shard: 3 }, false, {
    began: () => {},
    committing: (_transaction, outcomes) => {
      stored = outcomes.reduce((n, outcome) => n + outcome.stored, 0)
    },
  })
  t.equal(stored, 1)
  t.equal(await storedEvents(db.sql, 'merge.quoted'), 1)
  const counters = await db.sql<{ instance: string; shard: number }[]>`
    SELECT instance, shard FROM counters WHERE topic = 'merge.quoted'`
  t.same(counters, [{ instance, shard: 3 }])
})
