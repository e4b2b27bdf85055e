import { fileURLToPath } from 'node:url'
import t from 'tap'
import { CRASH_MARKER } from './fixtures/crash-worker.js'
import { startProcess } from './support/aggregator.js'
import { event, get, post, stats } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'

const db = await testDatabase(t)
const injector = fileURLToPath(new URL('./fixtures/crash-worker.js', import.meta.url))
const server = await startProcess(t, {
  DATABASE_URL: db.url,
  SHARDS: '1',
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${injector}`,
})
const { url } = server

t.test('a worker that dies fails its pending requests with 503 and is replaced', async (t) => {
  const doomed = await post(url, '/publish', [event({ topic: 'death', source: CRASH_MARKER })])
  t.equal(doomed.status, 503)
  t.equal(doomed.body.error, 'store_unavailable')
  t.notMatch(doomed.body.message, /worker exited/, 'the cause is logged, not answered')

  const after = await post(url, '/publish', [event({ topic: 'death' }), event({ topic: 'death' })])
  t.equal(after.status, 200, 'the replacement worker stores the next batch')
  t.equal(after.body.unique, 2)
  t.equal(await storedEvents(db.sql, 'death'), 2)
  const s = await stats(url)
  t.equal(s.in_flight, 0, 'nothing is left hanging')
  t.equal(s.failed, 1)
  t.equal((await get(url, '/readyz')).status, 200)
  // by now the process has long written the failure's log line
  const failed = server.logs.find((line) => line.msg === 'batch failed; its requests get 503')
  t.match(failed, { err: { message: /worker exited/ } })
})
