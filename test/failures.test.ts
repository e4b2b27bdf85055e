/** Failure paths of the foundation: oversized bodies, a store that refuses, a lost connection. */
import { request } from 'node:http'
import t from 'tap'
import { startApp } from './support/app.js'
import { event, post, stats, waitForStats } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'

const db = await testDatabase(t)
const server = await startApp(t, {
  DATABASE_URL: db.url,
  BODY_LIMIT_BYTES: '4096',
  MAX_EVENTS_PER_REQUEST: '5',
  DB_RETRY_MS: '300',
  LOG_LEVEL: 'debug',
})
const { url } = server

t.test('a body over BODY_LIMIT_BYTES is 413 before it is read', async (t) => {
  const big = Array.from({ length: 3 }, () => event({ payload: { blob: 'x'.repeat(2000) } }))
  const reply = await post(url, '/publish', big)
  t.equal(reply.status, 413)
  t.equal(reply.body.error, 'body_too_large')
})

t.test('a chunked body is cut off with 413 as soon as it crosses the limit', async (t) => {
  const { status, body } = await new Promise<{ status: number; body: string }>(
    (resolve, reject) => {
      const req = request(`${url}/publish`, { method: 'POST' }, (res) => {
        let text = ''
        res.on('data', (c: Buffer) => (text += c.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      })
      req.on('error', reject)
      req.write('[' + ' '.repeat(3000))
      req.write(' '.repeat(3000))
    },
  )
  t.equal(status, 413)
  t.match(JSON.parse(body), { error: 'body_too_large' })
})

t.test(
  'more than MAX_EVENTS_PER_REQUEST events is 413: one refused request of 6 events',
  async (t) => {
    const before = await stats(url)
    const reply = await post(
      url,
      '/publish',
      Array.from({ length: 6 }, () => event()),
    )
    t.equal(reply.status, 413)
    t.equal(reply.body.error, 'too_many_events')
    const after = await stats(url)
    t.equal(after.rejected, before.rejected + 1)
    t.equal(after.rejected_events, before.rejected_events + 6)
  },
)

t.test('an empty batch is acknowledged with zero counts', async (t) => {
  t.same((await post(url, '/publish', [])).body, {
    status: 'accepted',
    accepted: 0,
    unique: 0,
    duplicates: 0,
  })
})

t.test('when the store refuses a batch, only its requests get 503, then it recovers', async (t) => {
  await db.sql`ALTER TABLE events RENAME TO events_away`
  const failed = await post(url, '/publish', [event({ topic: 'fail.refused' })])
  t.equal(failed.status, 503)
  t.equal(failed.body.error, 'store_unavailable')
  t.equal(failed.headers.get('retry-after'), '1')
  const during = await fetch(`${url}/events`)
  t.equal(during.status, 503, 'reads fail cleanly too')
  await db.sql`ALTER TABLE events_away RENAME TO events`
  const after = await waitForStats(url, (s) => s.in_flight === 0)
  t.equal(after.failed, 1, 'the failed event is reported')
  t.equal(after.received, after.unique_processed + after.duplicate_dropped)
  const retried = await post(url, '/publish', [event({ topic: 'fail.refused' })])
  t.equal(retried.status, 200)
  t.equal(await storedEvents(db.sql, 'fail.refused'), 1)
})

t.test('a lost database connection is reopened and the request still succeeds', async (t) => {
  await db.sql`
    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE application_name = 'pubsub-aggregator' AND datname = current_database()`
  const reply = await post(url, '/publish', [event({ topic: 'fail.reconnect' })])
  t.equal(reply.status, 200)
  t.equal(reply.body.unique, 1)
})

t.test('debug logs name each event with the older systems’ words', async (t) => {
  const e = event({ topic: 'fail.logs' })
  await post(url, '/publish', [e, e])
  // logged as the batch settles, before the answer
  const lines = server.logs.filter((l) => l.event_id === e.event_id).map((l) => l.msg)
  for (const word of ['Enqueued event', 'Processing event', 'Saved to DB', 'Duplicate dropped']) {
    t.ok(lines.includes(word), word)
  }
  t.ok(server.logs.some((l) => l.msg === 'batch committed' && typeof l.ms === 'number'))
})
