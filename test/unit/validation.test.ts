import t from 'tap'
import { ERRORS } from '../../src/errors.js'
import { parsePublishBody } from '../../src/ingest/request.js'
import { MAX_BODY_VALUES, MAX_OBJECT_KEYS, scanBody } from '../../src/ingest/body-scan.js'
import { timestampProblem } from '../../src/ingest/event.js'

const enc = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value))

const valid = {
  topic: 'payment.notification',
  event_id: '3832d20e7-unique-payment-101',
  timestamp: '2025-10-21T10:00:00.000Z',
  source: 'payment-gateway-A',
  payload: { content: 'Transaction ok for user 456', metadata: { amount: 500000 } },
}

const rejection = (body: unknown, max = 100) => {
  const parsed = parsePublishBody(enc(body), max)
  if (parsed.ok) throw new Error('expected a rejection')
  return { ...parsed.rejection, status: ERRORS[parsed.rejection.error].status }
}

t.test('a single event, a bare array and {"events": [...]} are all accepted', async (t) => {
  for (const body of [valid, [valid, valid], { events: [valid] }]) {
    const parsed = parsePublishBody(enc(body), 100)
    t.ok(parsed.ok, JSON.stringify(body).slice(0, 40))
  }
  const spaced = JSON.stringify(valid).replace('"payload":{', '"payload": { ')
  const parsed = parsePublishBody(enc(`[${spaced}]`), 100)
  t.same(
    parsed.ok && parsed.events.map((e) => e.payload),
    [`{ ${JSON.stringify(valid.payload).slice(1)}`],
    'each event carries its payload as published',
  )
})

t.test('payload defaults to {} and unknown top-level fields are ignored', async (t) => {
  const { payload: _p, ...bare } = valid
  const parsed = parsePublishBody(enc({ ...bare, extra: 1 }), 100)
  t.ok(parsed.ok)
  if (parsed.ok) t.same(parsed.events[0], { ...bare, payload: '{}' })
})

t.test('a missing event_id is rejected with 422 naming the field', async (t) => {
  const { event_id: _e, ...missing } = valid
  const r = rejection(missing)
  t.equal(r.status, 422)
  if (r.error === 'validation')
    t.same(r.issues, [{ index: 0, path: 'event_id', message: 'is required' }])
})

t.test('one invalid event rejects the whole batch and reports its index', async (t) => {
  const r = rejection([valid, { ...valid, topic: '' }, valid])
  t.equal(r.status, 422)
  t.equal(r.events, 3)
  if (r.error === 'validation') t.equal(r.issues[0]?.index, 1)
})

t.test('wrong types, empty and overlong strings are each rejected', async (t) => {
  const cases: [string, unknown][] = [
    ['topic', 7],
    ['event_id', null],
    ['source', ''],
    ['topic', 'x'.repeat(256)],
    ['timestamp', 1700000000],
    ['payload', [1, 2]],
    ['payload', 'text'],
    ['payload', null],
  ]
  for (const [field, value] of cases) {
    const r = rejection({ ...valid, [field]: value })
    t.equal(r.status, 422, `${field}=${JSON.stringify(value)?.slice(0, 20)}`)
    if (r.error === 'validation') t.equal(r.issues[0]?.path, field)
  }
  t.ok(parsePublishBody(enc({ ...valid, topic: 'x'.repeat(255) }), 100).ok, '255 chars is fine')
})

t.test('timestamps must be ISO 8601 with a zone and a real date inside timestamptz', async (t) => {
  for (const good of [
    '2025-10-21T10:00:00Z',
    '2025-10-21T10:00:00.123456+05:30',
    '2024-02-29T23:59:59-0800',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999Z',
  ]) {
    t.equal(timestampProblem(good), null, good)
  }
  for (const bad of [
    '21/10/2025',
    '2025-10-21',
    '2025-10-21T10:00:00',
    '2025-02-29T10:00:00Z',
    '2025-13-01T10:00:00Z',
    '2025-10-21T24:00:00Z',
    '2025-10-21T10:00:00+16:00',
    '0000-01-01T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '99999-01-01T00:00:00Z',
    'not a date',
  ]) {
    t.not(timestampProblem(bad), null, bad)
  }
})

t.test('NUL and lone surrogates are rejected in fields and anywhere in the payload', async (t) => {
  for (const body of [
    { ...valid, topic: 'a\u0000b' },
    { ...valid, source: '\ud800' },
    { ...valid, payload: { deep: { list: ['ok', 'bad\u0000'] } } },
    { ...valid, payload: { 'key\u0000': 1 } },
    { ...valid, payload: { text: '\udc00 alone' } },
  ]) {
    t.equal(rejection(body).status, 422)
  }
})

t.test('payloads nested deeper than the limit are rejected', async (t) => {
  let deep: Record<string, unknown> = {}
  for (let i = 0; i < 100; i++) deep = { next: deep }
  t.equal(rejection({ ...valid, payload: deep }).status, 422)
  let fine: Record<string, unknown> = {}
  for (let i = 0; i < 10; i++) fine = { next: fine }
  t.ok(parsePublishBody(enc({ ...valid, payload: fine }), 100).ok)
})

t.test('malformed JSON, invalid UTF-8 and bodies that are not events are 400', async (t) => {
  t.equal(rejection('{"topic": ').status, 400)
  t.equal(rejection('').status, 400)
  const invalidUtf8 = new Uint8Array([0x7b, 0xff, 0x7d])
  const parsed = parsePublishBody(invalidUtf8, 100)
  t.equal(parsed.ok ? 0 : ERRORS[parsed.rejection.error].status, 400)
  t.equal(rejection('42').status, 400)
  t.equal(rejection({ events: 'nope' }).status, 400)
})

t.test('more events than allowed per request is 413', async (t) => {
  const r = rejection([valid, valid, valid], 2)
  t.equal(r.status, 413)
  t.equal(r.error, 'too_many_events')
})

t.test('a hostile batch gets a bounded list of issues', async (t) => {
  const r = rejection(
    Array.from({ length: 500 }, () => ({})),
    1000,
  )
  if (r.error === 'validation') t.equal(r.issues.length, 100)
  t.equal(r.events, 500)
})

const duplicateKey = (json: string) => scanBody(json, 'events').repeatedKey

t.test('duplicate keys are found in any object, however they are spelled', async (t) => {
  t.equal(duplicateKey('{"a":1,"b":{"a":2}}'), null, 'the same key in different objects is fine')
  t.equal(duplicateKey('[{"a":1},{"a":2}]'), null)
  t.equal(duplicateKey('{"a":1,"b":2,"a":3}'), 'a')
  t.equal(duplicateKey('{"x":[{"k":1,"k":2}]}'), 'k')
  t.equal(duplicateKey('{"a\\"b":1,"a\\u0022b":2}'), 'a"b')
  t.equal(duplicateKey('{"v":"a\\\\","v2":"\\"v\\":"}'), null, 'escaped quotes inside values')
  t.equal(duplicateKey('{ "a" : 1 , "a"\n:2}'), 'a', 'whitespace around colons')
})

/** An object of `count` distinct keys, as JSON text; `last` replaces the final key. */
const wide = (count: number, last?: string) => {
  const keys = Array.from({ length: count }, (_, i) => `"k${i}":${i % 10}`)
  if (last !== undefined) keys[count - 1] = `"${last}":0`
  return `{${keys.join(',')}}`
}

t.test('an object may have as many keys as the limit, not one more', async (t) => {
  t.has(scanBody(wide(MAX_OBJECT_KEYS), 'events'), { excess: null, repeatedKey: null })
  t.match(scanBody(wide(MAX_OBJECT_KEYS + 1), 'events').excess, `more than ${MAX_OBJECT_KEYS} keys`)
  const r = rejection({ ...valid, payload: JSON.parse(wide(MAX_OBJECT_KEYS + 1)) as object })
  t.same([r.status, r.error], [413, 'body_too_complex'])
  const atLimit = `{"topic":"t","event_id":"e","timestamp":"${valid.timestamp}","source":"s","payload":${wide(MAX_OBJECT_KEYS)}}`
  t.ok(parsePublishBody(enc(atLimit), 100).ok, 'an event whose payload has exactly the limit')
})

t.test('a key repeated as the last of many in one object is found', async (t) => {
  t.equal(duplicateKey(wide(MAX_OBJECT_KEYS, 'k0')), 'k0')
  t.equal(duplicateKey(wide(MAX_OBJECT_KEYS, '\\u006b9')), 'k9', 'even spelled with an escape')
  t.equal(duplicateKey(`[${wide(5000)},${wide(5000)}]`), null, 'sibling objects share no keys')
  t.equal(
    duplicateKey(`{"a":${wide(20)},"b":1,"a":2}`),
    'a',
    'the outer object after a wide inner one',
  )
})

t.test('a body may hold as many JSON values as the limit, not one more', async (t) => {
  // the array is one value, each element another
  const values = (count: number) => `[${'0,'.repeat(count - 2)}0]`
  t.equal(scanBody(values(MAX_BODY_VALUES), 'events').excess, null)
  t.match(
    scanBody(values(MAX_BODY_VALUES + 1), 'events').excess,
    `more than ${MAX_BODY_VALUES} JSON values`,
  )
  const deep = '['.repeat(MAX_BODY_VALUES) + ']'.repeat(MAX_BODY_VALUES)
  t.equal(scanBody(deep, 'events').excess, null, 'nesting counts each container once')
  const r = rejection('['.repeat(MAX_BODY_VALUES + 1) + ']'.repeat(MAX_BODY_VALUES + 1))
  t.same([r.status, r.error], [413, 'body_too_complex'])
  t.equal(
    scanBody('{"s":"a,b:[c]{d}","n":-1.5e3,"t":true,"f":false,"z":null}', 'events').excess,
    null,
    'a string or number is one value whatever it contains',
  )
})

t.test('the scan finds each event’s payload as published, in the events’ order', async (t) => {
  const payloads = (json: string, eventsKey: string | null = 'events') =>
    scanBody(json, eventsKey).payloads
  t.same(payloads('[{"payload": {"a" : 1.0}},{"payload":[ 1, 2 ]},{"x":1}]'), [
    '{"a" : 1.0}',
    '[ 1, 2 ]',
    undefined,
  ])
  t.same(payloads('[{"payload":"text"},{"payload":-1.5e3},{"payload":null}]'), [
    '"text"',
    '-1.5e3',
    'null',
  ])
  t.same(payloads('{ "payload" :\n { "n": {"payload": 3} } }'), ['{ "n": {"payload": 3} }'])
  t.same(payloads('[{"p\\u0061yload":{}}]'), ['{}'], 'the key spelled with an escape')
  t.same(
    payloads('{"payload":{"w":1},"events":[{"payload":{"e":1}},{"x":{"payload":2}}]}'),
    ['{"e":1}', undefined],
    'the wrapper is no event; a payload key nested in an event’s value is no payload',
  )
  t.same(
    payloads('[{"events":[{"payload":1}],"payload":2}]'),
    ['2'],
    'an events key means something in a top-level object only',
  )
  t.same(
    payloads('{"events":[{"payload":1}],"payload":2}\n{"payload":{"k":[]}}', null),
    ['2', '{"k":[]}'],
    'NDJSON: every top-level object is an event',
  )
})

t.test('the scan ends on text that is not JSON, which the parse then refuses', async (t) => {
  for (const text of [
    '{"a',
    '{"a\\',
    '"',
    '{"\\u00zz":1,"\\u00zz":2',
    ']]]}}',
    '{"a":tru',
    '\\"',
  ]) {
    t.equal(scanBody(text, 'events').excess, null, text)
    t.equal(rejection(text).error, 'malformed_json', text)
  }
})
