/**
 * Hostile requests, table-driven: each gets the right 4xx with a JSON error, the server stays
 * up, and valid requests sent at the same time all succeed. Then a seeded fuzz of mutated valid
 * requests, slow clients and abandoned connections.
 */
import net from 'node:net'
import t from 'tap'
import { random } from '../src/publisher/plan.js'
import { startApp } from './support/app.js'
import { event, get, post, stats, waitForStats } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'

const db = await testDatabase(t)
const server = await startApp(t, {
  DATABASE_URL: db.url,
  BODY_LIMIT_BYTES: '65536',
  MAX_EVENTS_PER_REQUEST: '100',
  BODY_TIMEOUT_MS: '1500',
})
const { url } = server

const valid = JSON.stringify(event({ topic: 'hostile.template' }))
const withField = (field: string, raw: string) => {
  const e = JSON.parse(valid) as Record<string, unknown>
  delete e[field]
  return JSON.stringify(e).slice(0, -1) + `,"${field}":${raw}}`
}
const nested = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)

type Case = [name: string, body: string | Uint8Array, status: number, error: string, type?: string]
const cases: Case[] = [
  ['malformed JSON', '{"topic": "x",, }', 400, 'malformed_json'],
  ['truncated JSON', valid.slice(0, valid.length / 2), 400, 'malformed_json'],
  ['an empty body', '', 400, 'malformed_json'],
  ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), 400, 'malformed_json'],
  ['null', 'null', 400, 'invalid_body'],
  ['a bare string', '"event"', 400, 'invalid_body'],
  ['events that is not an array', '{"events": {"a": 1}}', 400, 'invalid_body'],
  ['duplicate keys in an event', valid.slice(0, -1) + ',"topic":"other"}', 400, 'duplicate_key'],
  ['duplicate keys in a payload', withField('payload', '{"k":1,"k":2}'), 400, 'duplicate_key'],
  [
    'duplicate keys spelled differently',
    withField('payload', '{"k":1,"\\u006b":2}'),
    400,
    'duplicate_key',
  ],
  [
    'too many events',
    JSON.stringify(Array.from({ length: 101 }, () => event())),
    413,
    'too_many_events',
  ],
  [
    'a body over the limit',
    JSON.stringify([event({ payload: { blob: 'x'.repeat(70_000) } })]),
    413,
    'body_too_large',
  ],
  ['a wrong content type', valid, 415, 'unsupported_media_type', 'text/plain'],
  ['an array inside the batch', `[${valid},[1,2]]`, 422, 'validation'],
  ...(['topic', 'event_id', 'timestamp', 'source'] as const).flatMap((field): Case[] => [
    [`${field} as a number`, withField(field, '12'), 422, 'validation'],
    [`${field} as an object`, withField(field, '{}'), 422, 'validation'],
    [`${field} as null`, withField(field, 'null'), 422, 'validation'],
    [`${field} empty`, withField(field, '""'), 422, 'validation'],
    [`${field} with \\u0000`, withField(field, '"a\\u0000b"'), 422, 'validation'],
    [`${field} with a lone surrogate`, withField(field, '"a\\ud800b"'), 422, 'validation'],
  ]),
  ...(['topic', 'event_id', 'source'] as const).map((field): Case => [
    `${field} of 256 characters`,
    withField(field, `"${'x'.repeat(256)}"`),
    422,
    'validation',
  ]),
  [
    'a timestamp without a zone',
    withField('timestamp', '"2025-10-21T10:00:00"'),
    422,
    'validation',
  ],
  [
    'a timestamp past year 9999',
    withField('timestamp', '"+10000-01-01T00:00:00Z"'),
    422,
    'validation',
  ],
  ['a timestamp of year 0', withField('timestamp', '"0000-01-01T00:00:00Z"'), 422, 'validation'],
  ['a payload that is an array', withField('payload', '[1,2]'), 422, 'validation'],
  ['a payload that is a number', withField('payload', '7'), 422, 'validation'],
  ['a payload nested 100 deep', withField('payload', nested(100)), 422, 'validation'],
  ['a payload nested 5,000 deep', withField('payload', nested(5000)), 422, 'validation'],
  ['\\u0000 in a payload key', withField('payload', '{"a\\u0000":1}'), 422, 'validation'],
  [
    '\\u0000 in a payload value',
    withField('payload', '{"a":["ok","b\\u0000"]}'),
    422,
    'validation',
  ],
  ['a lone surrogate in a payload', withField('payload', '{"a":"\\udc00"}'), 422, 'validation'],
  ['a number beyond a double', withField('payload', '{"n":1e400}'), 422, 'validation'],
  ['an integer beyond 2^53', withField('payload', '{"n":12345678901234567890}'), 422, 'validation'],
]

t.test('every hostile request gets its 4xx while concurrent valid requests succeed', async (t) => {
  const before = await stats(url)
  const good = Array.from({ length: 30 }, () => event({ topic: 'hostile.good' }))
  const [goodReplies, badReplies] = await Promise.all([
    Promise.all(good.map((e) => post(url, '/publish', e))),
    Promise.all(
      cases.map(async ([name, body, status, error, type]) => {
        const res = await fetch(`${url}/publish`, {
          method: 'POST',
          headers: { 'content-type': type ?? 'application/json' },
          body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
        })
        const text = await res.text()
        return { name, status, error, got: res.status, body: text }
      }),
    ),
  ])
  for (const r of badReplies) {
    t.equal(r.got, r.status, `${r.name}: ${r.got}`)
    t.equal((JSON.parse(r.body) as { error: string }).error, r.error, `${r.name}: error code`)
  }
  t.ok(
    goodReplies.every((r) => r.status === 200),
    'every concurrent valid request was stored',
  )
  t.equal(await storedEvents(db.sql, 'hostile.good'), 30)
  t.equal(await storedEvents(db.sql, 'hostile.template'), 0, 'nothing of a hostile request')
  const after = await stats(url)
  t.ok(after.rejected > before.rejected, 'rejections are counted')
})

t.test('a chunked body without Content-Length is read normally', async (t) => {
  const e = event({ topic: 'hostile.chunked' })
  const bytes = new TextEncoder().encode(JSON.stringify([e]))
  const stream = new ReadableStream({
    start(controller) {
      controller.enqueue(bytes.slice(0, 10))
      controller.enqueue(bytes.slice(10))
      controller.close()
    },
  })
  const res = await fetch(`${url}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: stream,
    duplex: 'half',
  })
  t.equal(res.status, 200)
  t.match(await res.json(), { unique: 1 })
})

t.test('a client trickling its body is cut off with 408 and its connection closed', async (t) => {
  const socket = net.connect(server.port, '127.0.0.1')
  await new Promise((r) => socket.once('connect', r))
  socket.write(
    'POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n',
  )
  const trickle = setInterval(() => socket.write(' '), 200)
  let answer = ''
  socket.on('data', (c: Buffer) => (answer += c.toString()))
  await new Promise((r) => socket.once('close', r))
  clearInterval(trickle)
  t.match(answer, /^HTTP\/1\.1 408/)
  t.match(answer, /"error":"body_timeout"/)
})

t.test('many connections opened and abandoned leave the server serving', async (t) => {
  const sockets = await Promise.all(
    Array.from({ length: 300 }, async (_, i) => {
      const socket = net.connect(server.port, '127.0.0.1')
      await new Promise((r) => socket.once('connect', r))
      // some say nothing, some stop halfway through the headers or the body
      if (i % 3 === 1) socket.write('POST /publish HTTP/1.1\r\nHost: x\r\n')
      if (i % 3 === 2) socket.write('POST /publish HTTP/1.1\r\nContent-Length: 100\r\n\r\n[{"to')
      return socket
    }),
  )
  const reply = await post(url, '/publish', event({ topic: 'hostile.abandoned' }))
  t.equal(reply.status, 200)
  for (const socket of sockets) socket.destroy()
  t.equal((await get(url, '/health')).status, 200)
})

t.test('a seeded fuzz of mutated requests: never a 5xx, never a crash, counts exact', async (t) => {
  const rand = random(20261124)
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!
  const junk = [
    '\\u0000',
    '\\ud800',
    '"',
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '\\',
    '1e999',
    'null',
    'true',
    ' ',
    '\u00e9',
    '🎉',
  ]
  const mutate = (text: string): string => {
    const chars = [...text]
    const edits = 1 + Math.floor(rand() * 4)
    for (let i = 0; i < edits; i++) {
      const at = Math.floor(rand() * chars.length)
      switch (Math.floor(rand() * 3)) {
        case 0:
          chars.splice(at, 1)
          break
        case 1:
          chars.splice(at, 0, pick(junk))
          break
        default:
          chars[at] = pick(junk)
      }
    }
    return chars.join('')
  }
  const before = await waitForStats(url, (s) => s.in_flight === 0)
  const statuses = new Map<number, number>()
  let acceptedEvents = 0
  const total = 3000
  for (let i = 0; i < total; i += 50) {
    const replies = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const original = JSON.stringify([event({ topic: 'fuzz' }), event({ topic: 'fuzz' })])
        const res = await fetch(`${url}/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: new TextEncoder().encode(mutate(original)),
        })
        const body = (await res.json()) as { error?: string; accepted?: number }
        return { status: res.status, body }
      }),
    )
    for (const r of replies) {
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
      if (r.status === 200) acceptedEvents += r.body.accepted ?? 0
      else t.equal(typeof r.body.error, 'string', 'every refusal names its error')
    }
  }
  t.comment(`fuzz statuses: ${JSON.stringify([...statuses])}`)
  t.notOk(
    [...statuses.keys()].some((s) => s >= 500),
    'never a 5xx',
  )
  t.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, 'some survive, some do not')
  t.equal((await get(url, '/health')).status, 200, 'still up')
  const after = await waitForStats(url, (s) => s.in_flight === 0)
  t.equal(after.received - before.received, acceptedEvents, 'received counts exactly the accepted')
  t.equal(after.unique_processed, await storedEvents(db.sql), 'unique_processed = stored rows')
})
