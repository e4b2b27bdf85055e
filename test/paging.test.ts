import t from 'tap'
import { startApp } from './support/app.js'
import { event, post } from './support/client.js'
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
