/**
 * Bodies at and just past each limit on their shape (keys per object, values per body, payload
 * depth) and a string filling the byte limit, sent to the real process together: each gets its own answer while `/healthz`
 * keeps answering. A child process, not the app in this one: a server stalled on a body would
 * stall this test's health checks with it and hide the stall.
 */
import t from 'tap'
import { MAX_BODY_VALUES, MAX_OBJECT_KEYS } from '../src/ingest/body-scan.js'
import { MAX_PAYLOAD_DEPTH } from '../src/ingest/event.js'
import { startProcess } from './support/aggregator.js'
import { event, get, post } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'

const BODY_LIMIT_BYTES = 10 * 1024 ** 2
const db = await testDatabase(t)
const server = await startProcess(t, {
  DATABASE_URL: db.url,
  BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
})

const wide = (keys: number) =>
  Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i]))
const nestedArray = (depth: number) => {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = [value]
  return value
}
const accepted = (payload: unknown) => event({ topic: 'limits.accepted', payload })
const refused = (payload: unknown) => event({ topic: 'limits.refused', payload })

type Case = [name: string, body: unknown, status: number, error?: string]
const cases: Case[] = [
  ['a payload with as many keys as allowed', accepted(wide(MAX_OBJECT_KEYS)), 200],
  ['a payload with one key more', refused(wide(MAX_OBJECT_KEYS + 1)), 413, 'body_too_complex'],
  ['a 1 MB payload of 100,000 keys', refused(wide(100_000)), 413, 'body_too_complex'],
  // the payload is level 1 and the array under it level 2: n arrays reach level n + 1
  ['an array nested as deep as allowed', accepted({ a: nestedArray(MAX_PAYLOAD_DEPTH - 1) }), 200],
  ['an array nested one deeper', refused({ a: nestedArray(MAX_PAYLOAD_DEPTH) }), 422, 'validation'],
  [
    'more JSON values than allowed',
    refused({ a: Array(MAX_BODY_VALUES).fill(0) }),
    413,
    'body_too_complex',
  ],
  ['a string filling the body', accepted({ s: 'x'.repeat(BODY_LIMIT_BYTES - 1024) }), 200],
]

t.test('bodies near the limits get their answers while /healthz keeps answering', async (t) => {
  let publishing = true
  const publishes = Promise.all(
    cases.map(async ([name, body, status, error]) => {
      const reply = await post(server.url, '/publish', body)
      return { name, status, error, got: reply.status, code: reply.body.error }
    }),
  ).finally(() => (publishing = false))
  const health: number[] = []
  do health.push((await get(server.url, '/healthz')).status)
  while (publishing)
  for (const r of await publishes) {
    t.equal(r.got, r.status, `${r.name}: ${r.got}`)
    t.equal(r.code, r.error, `${r.name}: error code`)
  }
  t.ok(health.length > 0, 'health checks were sent while the bodies were in flight')
  t.same(
    health.filter((status) => status !== 200),
    [],
    `all ${health.length} health checks sent meanwhile answered 200`,
  )
  t.equal(await storedEvents(db.sql, 'limits.accepted'), 3, 'every accepted body is stored')
  t.equal(await storedEvents(db.sql, 'limits.refused'), 0, 'nothing of a refused body is')
})
