import t from 'tap'
import { startApp } from './support/app.js'
import { event, get, post } from './support/client.js'
import { testDatabase } from './support/database.js'

const db = await testDatabase(t)
const { url } = await startApp(t, { DATABASE_URL: db.url })

interface Page {
  events: { topic: string; event_id: string }[]
  next: string | null
}

async function page(path: string): Promise<Page> {
  const res = await fetch(url + path)
  const link = res.headers.get('link')
  const next = link === null ? null : (/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? null)
  return { events: (await res.json()) as Page['events'], next }
}

t.test('paging through /events by the Link header returns every event exactly once', async (t) => {
  const sent = Array.from({ length: 250 }, (_, i) =>
    event({ topic: i % 2 ? 'page.odd' : 'page.even' }),
  )
  for (let i = 0; i < sent.length; i += 50) await post(url, '/publish', sent.slice(i, i + 50))
  const seen: string[] = []
  let pages = 0
  for (let path: string | null = '/events?limit=40'; path !== null; pages++) {
    const { events, next } = await page(path)
    seen.push(...events.map((e) => e.event_id))
    path = next
  }
  t.equal(pages, 7, '250 events in pages of 40, the last one short')
  t.equal(new Set(seen).size, seen.length, 'no event twice')
  // requests were sent one after another; inside one, events are stored in key order
  for (let i = 0; i < sent.length; i += 50) {
    const stored = seen.slice(i, i + 50).sort()
    t.same(
      stored,
      sent
        .slice(i, i + 50)
        .map((e) => e.event_id)
        .sort(),
      `request ${i / 50} in order`,
    )
  }
})

t.test('paging within a topic keeps the filter and announces the cursor', async (t) => {
  const res = await fetch(`${url}/events?topic=page.odd&limit=100`)
  const cursor = res.headers.get('x-next-cursor')
  t.ok(cursor)
  t.match(res.headers.get('link'), /topic=page.odd/)
  const rest = await page(`/events?topic=page.odd&limit=100&after=${cursor}`)
  t.equal(((await res.json()) as unknown[]).length + rest.events.length, 125)
  t.ok(rest.events.every((e) => e.topic === 'page.odd'))
  t.equal(rest.next, null, 'a short page has no next link')
})

t.test('a page stops under PAGE_MAX_BYTES and its cursor misses no event', async (t) => {
  const bound = 64 * 1024
  const small = await startApp(t, { DATABASE_URL: db.url, PAGE_MAX_BYTES: String(bound) })
  const topic = 'page.large'
  // about 20 KB each, and one alone larger than a whole page
  const sent = Array.from({ length: 12 }, (_, i) =>
    event({ topic, payload: { blob: 'x'.repeat(i === 5 ? 100_000 : 20_000 + i) } }),
  )
  for (const one of sent) t.equal((await post(small.url, '/publish', one)).status, 200)
  const seen: string[] = []
  const sizes: number[] = []
  let pages = 0
  for (let path: string | null = `/events?topic=${topic}&limit=100`; path !== null; pages++) {
    const res = await fetch(small.url + path)
    const text = await res.text()
    const events = JSON.parse(text) as { event_id: string }[]
    t.ok(events.length > 0, 'every page carries at least one event')
    if (events.length > 1) sizes.push(Buffer.byteLength(text))
    seen.push(...events.map((e) => e.event_id))
    const link = res.headers.get('link')
    path = link === null ? null : (/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? null)
    if (path !== null) t.match(path, `after=${res.headers.get('x-next-cursor')}`)
  }
  t.ok(pages > 3, `cut into ${pages} pages though the limit is 100`)
  t.ok(
    sizes.every((size) => size <= bound),
    `pages of several events stay under the bound: ${sizes.join(', ')}`,
  )
  t.same(
    seen,
    sent.map((e) => e.event_id),
    'every event exactly once, in order',
  )
})

t.test('strings that JSON escapes at length still keep a page under PAGE_MAX_BYTES', async (t) => {
  // the database sizes a page by its events' stored lengths (src/db/feed.ts), which escaping
  // doubles here (a source of 254 characters takes 508 bytes): the page is trimmed to the bound
  // by its exact bytes
  const bound = 2048
  const small = await startApp(t, { DATABASE_URL: db.url, PAGE_MAX_BYTES: String(bound) })
  const topic = 'page.escaped'
  const SOURCE = '"\\'.repeat(127)
  const sent = Array.from({ length: 10 }, () => event({ topic, source: SOURCE }))
  t.equal((await post(small.url, '/publish', sent)).status, 200)
  const seen: string[] = []
  for (let after = '0', pages = 0; ; pages++) {
    const res = await fetch(`${small.url}/events?topic=${topic}&limit=100&after=${after}`)
    const text = await res.text()
    const events = JSON.parse(text) as { event_id: string; source: string }[]
    if (events.length === 0) {
      t.ok(pages >= 3, `cut into ${pages} pages`)
      break
    }
    t.ok(Buffer.byteLength(text) <= bound, `page of ${Buffer.byteLength(text)} bytes`)
    t.ok(
      events.every((e) => e.source === SOURCE),
      'strings intact',
    )
    seen.push(...events.map((e) => e.event_id))
    after = res.headers.get('x-next-cursor')!
  }
  t.same(seen.sort(), sent.map((e) => e.event_id).sort(), 'every event exactly once')
})

t.test('a page exactly as large as its bound holds every event', async (t) => {
  // the database keeps a superset of what fits by each event's least size (src/db/feed.ts): a
  // least size above the real one would cut this page short
  const topic = 'page.exact'
  const sent = Array.from({ length: 5 }, () => event({ topic }))
  t.equal((await post(url, '/publish?ack=durable', sent)).status, 200)
  const whole = await fetch(`${url}/events?topic=${topic}`)
  const bound = Buffer.byteLength(await whole.text())
  const exact = await startApp(t, { DATABASE_URL: db.url, PAGE_MAX_BYTES: String(bound) })
  const res = await fetch(`${exact.url}/events?topic=${topic}`)
  const events = JSON.parse(await res.text()) as { event_id: string }[]
  t.same(
    events.map((e) => e.event_id).sort(),
    sent.map((e) => e.event_id).sort(),
    `all ${sent.length} events in one page of ${bound} bytes`,
  )
  t.equal(res.headers.get('link'), null, 'and nothing more to follow')
})

t.test('a topic no event can have is a 400, not a database failure', async (t) => {
  for (const topic of ['%00', 'a%00b']) {
    const reply = await get(url, `/events?topic=${topic}`)
    t.equal(reply.status, 400, topic)
    t.match(reply.body, { error: 'invalid_query', message: /topic/ })
  }
})
