/** The embedded-database mode, as `npm start` runs it: state survives a restart of the process. */
import t from 'tap'
import { startProcess } from './support/aggregator.js'
import { event, post, stats } from './support/client.js'
import { tempDir } from './support/database.js'

const dataDir = await tempDir(t, 'data')
const env = { DATA_DIR: dataDir, DATABASE_URL: '' }
const events = Array.from({ length: 300 }, (_, i) => event({ topic: `restart.${i % 3}` }))

t.test('a restart keeps events and counters, and a resend counts only duplicates', async (t) => {
  const first = await startProcess(t, env)
  const startLine = first.logs.find((l) => String(l.msg).startsWith('listening'))
  t.match(startLine, {
    uws: /^@[\w-]+\/[\w.-]+@[\w.-]+ \(\S*uws_\w+\.node\)$/,
    shards: Number,
    database: /^embedded/,
  })
  t.match(startLine, { state: { stored_events: 0 } })
  const urls = { dashboard: `${first.url}/`, docs: `${first.url}/docs` }
  t.match(startLine, { urls, data_dir: dataDir, database_reused: false })
  t.match(
    startLine?.msg,
    `listening on ${first.url} (uWebSockets.js @`,
    'the start-up line names where to point a browser',
  )
  t.match(startLine?.msg, `dashboard ${urls.dashboard}, API docs ${urls.docs}`)
  t.match(startLine?.msg, `data folder ${dataDir}: new database`)
  const reply = await post(first.url, '/publish', [...events, ...events.slice(0, 30)])
  t.same(reply.body, { status: 'accepted', accepted: 330, unique: 300, duplicates: 30 })
  t.equal(await first.stop('SIGTERM'), 0, 'SIGTERM exits 0')

  const second = await startProcess(t, env)
  const restarted = second.logs.find((l) => String(l.msg).startsWith('listening'))
  t.match(
    restarted,
    { state: { stored_events: 300, duplicate_dropped: 30 }, database_reused: true },
    'start-up reports the state loaded from the store',
  )
  t.match(
    restarted?.msg,
    `data folder ${dataDir}: existing database reused, 300 events, 30 duplicates`,
  )
  t.same(
    second.logs.filter((l) => Number(l.level) >= 40).map((l) => l.msg),
    [],
    'reusing a database is a success: no warning, no error',
  )
  t.match(
    second.logs.find((l) => String(l.msg).startsWith('embedded PostgreSQL')),
    { level: 30, created: false, msg: /reusing the database in / },
  )
  const kept = await stats(second.url)
  t.equal(kept.unique_processed, 300)
  t.equal(kept.duplicate_dropped, 30)
  t.same(kept.topics, ['restart.0', 'restart.1', 'restart.2'])
  const resend = await post(second.url, '/publish', events)
  t.same(resend.body, { status: 'accepted', accepted: 300, unique: 0, duplicates: 300 })
  t.equal(await second.stop('SIGINT'), 0, 'SIGINT exits 0 too')
})

t.test('a second aggregator on the same data folder is refused with a clear message', async (t) => {
  const owner = await startProcess(t, env)
  await t.rejects(startProcess(t, env), /in use by another aggregator/)
  t.equal(await owner.stop(), 0)
})

t.test('after a SIGKILL the orphaned database is stopped and the state is intact', async (t) => {
  const victim = await startProcess(t, env)
  await post(victim.url, '/publish', [event({ topic: 'restart.kill' })])
  await victim.stop('SIGKILL')
  const next = await startProcess(t, env)
  t.ok(next.logs.some((l) => String(l.msg).includes('left running by a previous aggregator')))
  t.equal((await stats(next.url)).unique_processed, 301)
  t.equal(await next.stop(), 0)
})
