import t from 'tap'
import { startApp } from './support/app.js'
import { event, get, post, type TestEvent } from './support/client.js'
import { testDatabase } from './support/database.js'

const db = await testDatabase(t)
const { url } = await startApp(t, { DATABASE_URL: db.url })

const nasty = [
  'tab\there',
  'new\nline',
  'carriage\rreturn',
  'back\\slash',
  '\\N',
  '\\.',
  'quote " and \' apostrophe',
  'emoji 🎉 and 中文',
  '\\t literal backslash-t',
  ' leading and trailing ',
  '\u0001\u001f control',
]

t.test('tabs, newlines, backslashes, quotes, emoji and \\N round-trip exactly', async (t) => {
  const sent: TestEvent[] = nasty.map((text, i) =>
    event({
      topic: `rt ${text}`,
      event_id: `${text} #${i}`,
      source: text,
      payload: { [text]: text, nested: { list: [text, i, true, null, 1.5e-7] } },
    }),
  )
  const reply = await post(url, '/publish', sent)
  t.equal(reply.status, 200)
  t.equal(reply.body.unique, sent.length)
  const back = await get<(TestEvent & { received_at: string })[]>(url, '/events')
  t.equal(back.body.length, sent.length)
  for (const [i, original] of sent.entries()) {
    const got = back.body.find((e) => e.event_id === original.event_id)
    t.ok(got, `event ${i} is stored`)
    t.same(
      { topic: got?.topic, event_id: got?.event_id, source: got?.source, payload: got?.payload },
      {
        topic: original.topic,
        event_id: original.event_id,
        source: original.source,
        payload: original.payload,
      },
      JSON.stringify(nasty[i]),
    )
    t.match(got?.received_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3,6}Z$/)
  }
})

t.test('timestamps come back in UTC with their precision', async (t) => {
  const cases = [
    ['2025-10-21T10:00:00.000Z', '2025-10-21T10:00:00.000Z'],
    ['2025-10-21T15:30:00+05:30', '2025-10-21T10:00:00.000Z'],
    ['2025-10-21T10:00:00.123456Z', '2025-10-21T10:00:00.123456Z'],
  ]
  for (const [sent, expected] of cases as [string, string][]) {
    const e = event({ topic: 'rt.ts', timestamp: sent })
    await post(url, '/publish', e)
    const back = await get<TestEvent[]>(url, `/events?topic=rt.ts`)
    t.equal(back.body.find((x) => x.event_id === e.event_id)?.timestamp, expected, sent)
  }
})

t.test('large payloads with many keys are stored intact', async (t) => {
  const payload = Object.fromEntries(
    Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v'.repeat(i)]),
  )
  const e = event({ topic: 'rt.big', payload })
  t.equal((await post(url, '/publish', e)).status, 200)
  const back = await get<TestEvent[]>(url, '/events?topic=rt.big')
  t.same(back.body[0]?.payload, payload)
})

t.test('a payload is stored and read back as published, in every body shape', async (t) => {
  // whitespace, a number's spelling and an escape: what parsing and serialising again would change
  const payload = '{ "amount": 1.50,\n\t"note": "caf\\u00e9", "big": 1e3, "list": [ 1 , {} ] }'
  const fields = (id: string) =>
    `"topic":"rt.raw","event_id":"${id}","timestamp":"2025-10-21T10:00:00Z","source":"s"`
  const bodies: [string, string, Record<string, string>?][] = [
    ['one event', `{${fields('one')},"payload": ${payload}}`],
    ['an array', `[{${fields('array')},"payload":${payload}}]`],
    [
      'the events wrapper, with a payload key of its own',
      `{"payload":{"w":1},"events":[{${fields('wrapped')},"payload":${payload}}]}`,
    ],
    [
      'NDJSON',
      `{${fields('ndjson')}, "payload" :${payload.replace('\n', ' ')}}\n`,
      { 'content-type': 'application/x-ndjson' },
    ],
  ]
  for (const [shape, body, headers] of bodies) {
    t.equal((await post(url, '/publish', body, headers)).status, 200, shape)
  }
  const text = await (await fetch(`${url}/events?topic=rt.raw`)).text()
  const stored = (JSON.parse(text) as TestEvent[]).map((e) => e.event_id).sort()
  t.same(stored, ['array', 'ndjson', 'one', 'wrapped'])
  const published = text.split(`"payload":${payload}`).length - 1
  t.equal(published, 3, 'each JSON body’s payload, byte for byte')
  t.ok(text.includes(`"payload":${payload.replace('\n', ' ')}`), 'the NDJSON line’s payload')
  const absent = event({ topic: 'rt.raw.none', payload: undefined })
  t.equal((await post(url, '/publish', absent)).status, 200)
  const none = await (await fetch(`${url}/events?topic=rt.raw.none`)).text()
  t.ok(none.includes('"payload":{}'), 'an event without a payload stores {}')
})
