/** The older systems' test suite (REFERENCE.md, tests 1–12) and the API's contract around it. */
import t from 'tap'
import { startApp } from './support/app.js'
import { event, get, post, stats, waitForStats, type TestEvent } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'

const db = await testDatabase(t)
const { url } = await startApp(t, { DATABASE_URL: db.url, SHARDS: '2' })

t.test('two identical events: one unique, one duplicate', async (t) => {
  const e = event({ topic: 'ref.1' })
  const first = await post(url, '/publish', e)
  const second = await post(url, '/publish', e)
  t.equal(first.status, 200)
  t.same(first.body, { status: 'accepted', accepted: 1, unique: 1, duplicates: 0 })
  t.same(second.body, { status: 'accepted', accepted: 1, unique: 0, duplicates: 1 })
  t.equal((await stats(url)).topic_counts['ref.1'], 1)
})

t.test('a missing event_id is rejected with 422 and counted as rejected', async (t) => {
  const before = await stats(url)
  const { event_id: _id, ...bad } = event()
  const reply = await post(url, '/publish', bad)
  t.equal(reply.status, 422)
  t.match(reply.body, { error: 'validation', issues: [{ index: 0, path: 'event_id' }] })
  t.equal((await stats(url)).rejected, before.rejected + 1)
})

t.test('/stats counts received and lists topics', async (t) => {
  const before = await stats(url)
  await post(url, '/publish', [event({ topic: 'ref.4a' }), event({ topic: 'ref.4b' })])
  const after = await stats(url)
  t.equal(after.received, before.received + 2)
  t.ok(after.topics.includes('ref.4a') && after.topics.includes('ref.4b'))
  t.equal(after.topic_counts['ref.4a'], 1)
  t.equal(typeof after.started_at, 'string')
  t.equal(after.shards.length, 2)
})

t.test('/events?topic= returns only that topic, and an unknown topic gives []', async (t) => {
  await post(url, '/publish', [event({ topic: 'ref.5' }), event({ topic: 'ref.5-other' })])
  const only = await get<TestEvent[]>(url, '/events?topic=ref.5')
  t.equal(only.body.length, 1)
  t.equal(only.body[0]?.topic, 'ref.5')
  const res = await fetch(`${url}/events?topic=no-such-topic`)
  t.equal(await res.text(), '[]')
})

t.test('100 unique events are processed and each is stored', async (t) => {
  const events = Array.from({ length: 100 }, () => event({ topic: 'ref.6' }))
  const reply = await post(url, '/publish', events)
  t.same(reply.body, { status: 'accepted', accepted: 100, unique: 100, duplicates: 0 })
  t.equal((await get<unknown[]>(url, '/events?topic=ref.6')).body.length, 100)
})

t.test('five identical events sent at the same moment store exactly one', async (t) => {
  const e = event({ topic: 'ref.7' })
  const replies = await Promise.all(Array.from({ length: 5 }, () => post(url, '/publish', e)))
  const unique = replies.reduce((n, r) => n + Number(r.body.unique), 0)
  t.equal(unique, 1)
  t.equal(await storedEvents(db.sql, 'ref.7'), 1)
})

t.test('ten distinct events sent at the same moment: none is lost', async (t) => {
  const events = Array.from({ length: 10 }, () => event({ topic: 'ref.8' }))
  const replies = await Promise.all(events.map((e) => post(url, '/publish', e)))
  t.ok(replies.every((r) => r.status === 200 && r.body.unique === 1))
  t.equal((await get<unknown[]>(url, '/events?topic=ref.8')).body.length, 10)
})

t.test('the same event_id under two topics is two unique events', async (t) => {
  const reply = await post(url, '/publish', [
    event({ topic: 'ref.9a', event_id: 'shared-id' }),
    event({ topic: 'ref.9b', event_id: 'shared-id' }),
  ])
  t.same(reply.body, { status: 'accepted', accepted: 2, unique: 2, duplicates: 0 })
})

t.test('a timestamp that is not ISO 8601 is rejected', async (t) => {
  const reply = await post(url, '/publish', event({ timestamp: '21/10/2025 10:00' }))
  t.equal(reply.status, 422)
  t.match(reply.body, { issues: [{ path: 'timestamp' }] })
})

t.test('/events without a filter returns every topic', async (t) => {
  await post(url, '/publish', [event({ topic: 'ref.11a' }), event({ topic: 'ref.11b' })])
  const all = await get<TestEvent[]>(url, '/events?limit=10000')
  const topics = new Set(all.body.map((e) => e.topic))
  t.ok(topics.has('ref.11a') && topics.has('ref.11b') && topics.has('ref.1'))
})

t.test('uptime rises with time, in whole seconds', async (t) => {
  const first = (await stats(url)).uptime
  await new Promise((r) => setTimeout(r, 1100))
  const second = (await stats(url)).uptime
  t.ok(Number.isInteger(first) && Number.isInteger(second))
  t.ok(second > first, `${second} > ${first}`)
})

t.test('a batch carrying its own duplicates stores each key once', async (t) => {
  const a = event({ topic: 'batch.self' })
  const b = event({ topic: 'batch.self' })
  const reply = await post(url, '/publish', [a, b, a, a, b])
  t.same(reply.body, { status: 'accepted', accepted: 5, unique: 2, duplicates: 3 })
})

t.test('batches are accepted on /publish/batch and as {"events": [...]}', async (t) => {
  const reply = await post(url, '/publish/batch', { events: [event(), event()] })
  t.same(reply.body, { status: 'accepted', accepted: 2, unique: 2, duplicates: 0 })
})

t.test('ack=async answers 202 at once and the counts follow', async (t) => {
  const before = await stats(url)
  const events = Array.from({ length: 50 }, () => event({ topic: 'async' }))
  const reply = await post(url, '/publish?ack=async', [...events, ...events.slice(0, 10)])
  t.equal(reply.status, 202)
  t.same(reply.body, { status: 'queued', accepted: 60, queued: 60 })
  const after = await waitForStats(url, (s) => s.in_flight === 0)
  t.equal(after.unique_processed - before.unique_processed, 50)
  t.equal(after.duplicate_dropped - before.duplicate_dropped, 10)
  t.equal(after.received, after.unique_processed + after.duplicate_dropped + after.in_flight)
})

t.test('content types: missing is JSON, +json is JSON, anything else is 415', async (t) => {
  t.equal((await post(url, '/publish', event(), {})).status, 200)
  const vendor = { 'content-type': 'application/vnd.events+json; charset=utf-8' }
  t.equal((await post(url, '/publish', event(), vendor)).status, 200)
  const text = await post(url, '/publish', event(), { 'content-type': 'text/plain' })
  t.equal(text.status, 415)
  t.equal(text.body.error, 'unsupported_media_type')
})

t.test('malformed JSON is 400 and a bad ack parameter is 400', async (t) => {
  const broken = await post(url, '/publish', '{"topic": "x",')
  t.equal(broken.status, 400)
  t.equal(broken.body.error, 'malformed_json')
  t.equal((await post(url, '/publish?ack=later', event())).status, 400)
})

t.test('unknown routes are 404 and wrong methods 405, both as JSON', async (t) => {
  const missing = await get(url, '/nope')
  t.equal(missing.status, 404)
  t.equal(missing.body.error, 'not_found')
  const wrong = await get(url, '/publish')
  t.equal(wrong.status, 405)
  t.equal(wrong.headers.get('allow'), 'POST')
})

t.test('health endpoints answer ok and readiness checks the database and workers', async (t) => {
  for (const path of ['/health', '/healthz']) t.same((await get(url, path)).body, { status: 'ok' })
  const ready = await get(url, '/readyz')
  t.equal(ready.status, 200)
  t.same(ready.body, { status: 'ready', checks: { database: true, workers: true } })
})

t.test('/events rejects bad parameters with 400', async (t) => {
  for (const query of [
    'limit=0',
    'limit=10001',
    'limit=abc',
    'topic=',
    'wait=61',
    'limit=5&limit=6',
  ]) {
    const reply = await get(url, `/events?${query}`)
    t.equal(reply.status, 400, query)
    t.equal(reply.body.error, 'invalid_query')
  }
})

t.test('once drained, received = unique_processed + duplicate_dropped', async (t) => {
  const s = await waitForStats(url, (s) => s.in_flight === 0)
  t.equal(s.received, s.unique_processed + s.duplicate_dropped)
  t.equal(s.unique_processed, await storedEvents(db.sql), 'unique_processed equals the stored rows')
})
