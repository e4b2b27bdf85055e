/**
 * A COPY the server rejects fails its batch at once with the server's error, never waits for
 * DB_TIMEOUT_MS, and is not retried as if the connection were at fault (postgres.js leaves such
 * a COPY unsettled: porsager/postgres#1173). Seen on a LATIN1 database, where one emoji cannot
 * be converted; the aggregator refuses to start on such a database at all.
 */
import pino from 'pino'
import postgres from 'postgres'
import t from 'tap'
import { MIGRATIONS } from '../src/db/migrate.js'
import { postgresStore } from '../src/db/postgres-store.js'
import { urlTarget } from '../src/db/target.js'
import { PartBuilder } from '../src/pipeline/part.js'
import { Shard, type BatchReport } from '../src/pipeline/shard.js'
import { Ticket } from '../src/pipeline/ticket.js'
import { unitEvent } from './fixtures/pipeline.js'
import { startApp } from './support/app.js'
import { databaseUrl } from './support/postgres.js'
import { dropDatabase, readSuite } from './support/suite-postgres.js'

const suite = (await readSuite())!
const name = `agg_latin1_${process.pid}`
await dropDatabase(suite.url, name)
const admin = postgres(suite.url, { max: 1, onnotice: () => {} })
await admin.unsafe(
  `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`,
)
await admin.end()
t.teardown(() => dropDatabase(suite.url, name))
const latin1 = databaseUrl(suite.url, name)
// the schema, which `migrate` refuses to lay in such a database: a batch's merge is prepared
// against it before the COPY is sent
const schema = postgres(latin1, { max: 1, onnotice: () => {} })
for (const migration of MIGRATIONS) await schema.unsafe(migration)
await schema.end()

t.test('the app refuses to start on a database that is not UTF8', async (t) => {
  await t.rejects(startApp(t, { DATABASE_URL: latin1 }), {
    code: 'ERR_AGG_DB_ENCODING',
    message: /is encoded LATIN1, not UTF8/,
  })
})

t.test('a COPY the server rejects fails its batch at once, with the SQLSTATE logged', async (t) => {
  const logs: Record<string, unknown>[] = []
  const log = pino(
    { level: 'info' },
    { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
  )
  const reports: BatchReport[] = []
  const shard = new Shard({
    onBatch: (report) => reports.push(report),
    batchMaxEvents: 100,
    batchMaxBytes: 1024 ** 2,
    flushIntervalMs: 0,
    worker: {
      store: 'postgres',
      target: urlTarget(latin1),
      instanceId: 'copy-rejected',
      shard: 0,
      // before the fix, the batch waited out every attempt and was retried for all of DB_RETRY_MS.
      // Generous: a first attempt also opens its session and creates its staging table, which
      // overran 1 s in the container suite under load and was retried
      attemptTimeoutMs: 10_000,
      retryMs: 15_000,
    },
    log,
  })
  t.teardown(() => shard.close())
  const ticket = new Ticket(1)
  const part = new PartBuilder(1, false)
  const emoji = unitEvent('copy.emoji 🎉', '1')
  part.add(postgresStore.row(part.id, emoji), emoji)
  ticket.addPart()
  shard.enqueue(part.build(ticket))
  ticket.seal()
  await t.rejects(ticket.done, { code: 'ERR_AGG_BATCH_FAILED' })
  t.match(reports[0]?.failed?.cause, { message: /^\[22P05\] .*\(gave up after 1 attempt\)$/ })
  const failed = logs.find((line) => line.msg === 'batch failed; its requests get 503')
  t.match(failed, { err: { message: /^\[22P05\] / } })
})
