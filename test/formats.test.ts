/** NDJSON bodies and gzip request bodies, with limits applied to what they expand to. */
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { startApp } from './support/app.js'
import { event, post } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'

const db = await testDatabase(t)
const { url } = await startApp(t, { DATABASE_URL: db.url, BODY_LIMIT_BYTES: '1048576' })
const NDJSON = { 'content-type': 'application/x-ndjson' }
const lines = (...items: unknown[]) => items.map((i) => JSON.stringify(i)).join('\n') + '\n'

t.test('an NDJSON body carries one event per line; blank lines are skipped', async (t) => {
  const events = [event({ topic: 'nd' }), event({ topic: 'nd' }), event({ topic: 'nd' })]
  const body = lines(events[0]) + '\n' + lines(events[1], events[2]).replace('\n', '\r\n')
  const reply = await post(url, '/publish', body, NDJSON)
  t.same(reply.body, { status: 'accepted', accepted: 3, unique: 3, duplicates: 0 })
  t.equal(await storedEvents(db.sql, 'nd'), 3)
})

t.test('an NDJSON line that does not parse is named in a 400', async (t) => {
  const reply = await post(url, '/publish', lines(event()) + '{"topic": broken\n', NDJSON)
  t.equal(reply.status, 400)
  t.match(reply.body.message, /line 2/)
})

t.test('an invalid NDJSON event is reported with its index and its line', async (t) => {
  const { event_id: _omit, ...bad } = event({ topic: 'nd.bad' })
  const reply = await post(url, '/publish', lines(event()) + '\n' + lines(bad), NDJSON)
  t.equal(reply.status, 422)
  t.match(reply.body, { issues: [{ index: 1, line: 3, path: 'event_id' }] })
  t.equal(await storedEvents(db.sql, 'nd.bad'), 0)
})

t.test('gzip bodies are inflated, JSON and NDJSON alike', async (t) => {
  const json = gzipSync(JSON.stringify([event({ topic: 'gz' }), event({ topic: 'gz' })]))
  const a = await post(url, '/publish', json, {
    'content-type': 'application/json',
    'content-encoding': 'gzip',
  })
  t.equal(a.status, 200)
  t.equal(a.body.unique, 2)
  const nd = gzipSync(lines(event({ topic: 'gz' })))
  const b = await post(url, '/publish', nd, { ...NDJSON, 'content-encoding': 'gzip' })
  t.equal(b.body.unique, 1)
  t.equal(await storedEvents(db.sql, 'gz'), 3)
})

t.test('a gzip bomb gets 413 by its inflated size, not its compressed one', async (t) => {
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, ' '))
  t.ok(bomb.length < 1024 * 1024, `${bomb.length} bytes compressed, under the limit`)
  const reply = await post(url, '/publish', bomb, {
    'content-type': 'application/json',
    'content-encoding': 'gzip',
  })
  t.equal(reply.status, 413)
  t.equal(reply.body.error, 'body_too_large')
})

t.test('a corrupt gzip body is 400 and an unknown coding 415', async (t) => {
  const corrupt = await post(url, '/publish', new Uint8Array([0x1f, 0x8b, 1, 2, 3]), {
    'content-encoding': 'gzip',
  })
  t.equal(corrupt.status, 400)
  t.equal(corrupt.body.error, 'malformed_gzip')
  const brotli = await post(url, '/publish', '{}', { 'content-encoding': 'br' })
  t.equal(brotli.status, 415)
  t.equal(brotli.body.error, 'unsupported_encoding')
})
