/**
 * The dashboard in a real browser: headless Chromium loads the page from the app (in-process),
 * events are published over HTTP, and the numbers on the page follow; an outage shows as such
 * (a late viewer and a phone-sized screen: test/dashboard-views.test.ts). Leaves a screenshot in
 * .tap/dashboard.png; the pictures in docs/ come from `npm run screenshots`.
 */
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer } from 'node:http'
import type { Page } from 'playwright-core'
import postgres from 'postgres'
import t from 'tap'
import { startApp } from './support/app.js'
import { launch, skip } from './support/browser.js'
import { event, get, post, stats, type TestEvent } from './support/client.js'
import { testDatabase } from './support/database.js'
import { readSuite } from './support/suite-postgres.js'
import { batch, TOPICS } from './support/traffic.js'

/** Under tap's own output folder: a test run leaves the checkout as it found it. */
const SCREENSHOT = fileURLToPath(new URL('../../.tap/dashboard.png', import.meta.url))

/** The part of a DOM canvas read here: the project compiles without DOM types. */
interface Canvas {
  width: number
  height: number
  getContext(kind: '2d'): { getImageData(...area: number[]): { data: Uint8ClampedArray } }
}

/** What the page shows, read from the DOM. */
async function read(page: Page) {
  const text = async (selector: string) => (await page.locator(selector).textContent()) ?? ''
  const number = async (id: string) => Number((await text(`#${id}`)).replace(/,/g, ''))
  return {
    received: await number('received'),
    unique: await number('unique'),
    duplicates: await number('duplicates'),
    rejected: await number('rejected'),
    receivedRate: await text('#received-rate'),
    invariant: await text('#invariant'),
    shards: await page.locator('#shards tr').count(),
    topics: await page.locator('#topics .name').allTextContents(),
    topicCount: await text('#topic-count'),
    inFlight: await text('#inflight'),
    errors: await text('#errors'),
  }
}

t.test(
  'in a browser the numbers, chart, shards and topics follow published events',
  { skip },
  async (t) => {
    const db = await testDatabase(t)
    const { url } = await startApp(t, { DATABASE_URL: db.url, SHARDS: '4' })
    const sent: TestEvent[] = []
    const send = async (events: TestEvent[]) => {
      const reply = await post(url, '/publish', events)
      if (reply.status !== 200)
        throw new Error(`publish: ${reply.status} ${JSON.stringify(reply.body)}`)
      sent.push(...events)
    }
    for (let i = 0; i < 8; i++) await send(batch(500, sent))

    const browser = await launch(t)
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      colorScheme: 'dark',
    })
    const elsewhere: string[] = []
    await context.route('**/*', (route) => {
      const target = route.request().url()
      if (new URL(target).hostname === '127.0.0.1') return route.continue()
      elsewhere.push(target)
      return route.abort()
    })
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()))
    page.on('pageerror', (e) => problems.push(e.message))
    const sockets: string[] = []
    page.on('websocket', (ws) => sockets.push(ws.url()))

    await page.goto(`${url}/dashboard`)
    await page.waitForSelector('#status[data-state="live"]')
    await page.locator('#received').filter({ hasNotText: '–' }).waitFor()
    const first = await read(page)
    t.equal(first.received, 4000, 'the seeded events are shown')
    t.equal(first.invariant, 'holds')
    t.equal(first.shards, 4)
    t.match(first.inFlight, /^\d[\d,]*$/, 'in flight is a level, with no rate beside it')
    t.equal(await page.locator('#inflight-rate').count(), 0)

    // a wavy load for the chart, with an invalid request now and then for the rejected count,
    // until the page shows its effects: what the page shows ends the load, not a duration
    const painted = () =>
      page.locator('#chart').evaluate((canvas: Canvas) => {
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data
        let count = 0
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) count++
        return count / (canvas.width * canvas.height)
      })
    const followed = (now: typeof first, drawn: number) =>
      now.received > first.received &&
      now.unique > first.unique &&
      now.duplicates > first.duplicates &&
      now.rejected > first.rejected &&
      now.topicCount === `${TOPICS.length} topics in all` &&
      now.topics.length === 10 &&
      /422 validation/.test(now.errors) &&
      drawn > 0.01
    let during = first
    let drawn = 0
    for (let tick = 1; !followed(during, drawn); tick++) {
      // 200 ms a tick: a minute is far more than the page needs, even on a busy machine
      if (tick > 300) throw new Error(`the page did not follow the load: ${JSON.stringify(during)}`)
      const wave = Math.sin((2 * Math.PI * tick) / 45)
      await send(batch(Math.round(140 + 90 * wave + 30 * Math.random()), sent))
      if (tick % 12 === 1) {
        t.equal((await post(url, '/publish', { ...event(), timestamp: 'yesterday' })).status, 422)
      }
      await new Promise((r) => setTimeout(r, 200))
      during = await read(page)
      drawn = await painted()
    }
    t.ok(during.received > first.received, `received rose: ${first.received} → ${during.received}`)
    t.ok(during.unique > first.unique && during.duplicates > first.duplicates)
    t.ok(during.rejected > first.rejected, 'rejected rose')
    t.match(during.receivedRate, /^[\d,.]+ \/s$/)
    t.equal(during.topicCount, `${TOPICS.length} topics in all`)
    t.equal(during.topics.length, 10, 'the ten most active topics')
    t.equal(during.topics[0], 'payment.notification', 'the busiest first')
    t.match(
      await page.locator('#topics li').first().textContent(),
      /^payment\.notification[\d,.]+ \/s[\d.]+K?$/,
      'with its rate over the window and its all-time count',
    )
    t.match(during.errors, /422 validation/, 'refusals by reason')
    t.match(await page.locator('#latency-p99').textContent(), /^[\d,.]+ m?s$/, 'publish p99')
    t.match(await page.locator('#commit-p99').textContent(), /^[\d,.]+ m?s$/, 'commit p99')
    t.match(await page.locator('#queue-events').textContent(), /^[\d,]+ of 200K events$/)
    t.ok(drawn > 0.01, `the chart is drawn (${(drawn * 100).toFixed(1)}% of its pixels)`)
    await mkdir(path.dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })

    // every publish is answered, so nothing is in flight: wait for the page's first snapshot
    // taken since (one taken during the last commit already shows the same `received`)
    const expected = await stats(url)
    const shows = (id: string, n: number) =>
      page.locator(`#${id}`, { hasText: new RegExp(`^${n.toLocaleString('en')}$`) }).waitFor()
    await shows('received', expected.received)
    await shows('unique', expected.unique_processed)
    await shows('duplicates', expected.duplicate_dropped)
    const last = await read(page)
    t.equal(last.received, sent.length, 'every accepted event is counted')
    t.equal(last.unique, expected.unique_processed)
    t.equal(last.duplicates, expected.duplicate_dropped)
    t.equal(last.rejected, expected.rejected)
    t.equal(last.invariant, 'holds')
    t.same(elsewhere, [], 'the page asked for nothing outside 127.0.0.1')
    t.ok(
      sockets.length > 0 && sockets.every((s) => s.startsWith('ws://127.0.0.1:')),
      `WebSocket to the server only: ${sockets.join(', ')}`,
    )
    t.same(problems, [], 'no script error and no CSP violation')
  },
)

t.test(
  'in a browser, a page from another origin can neither publish nor open the feed',
  { skip },
  async (t) => {
    const db = await testDatabase(t)
    const { url } = await startApp(t, { DATABASE_URL: db.url })
    // the foreign site: another port is another origin
    const site = createServer((_req, res) => res.end('<!doctype html><title>elsewhere</title>'))
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise((resolve) => site.close(resolve)))
    const { port } = site.address() as { port: number }

    const page = await (await launch(t)).newPage()
    await page.goto(`http://127.0.0.1:${port}/`)
    const forged = event({ topic: 'browser.forged' })
    const attempt = await page.evaluate(
      async ({ url, body }) => {
        // `no-cors` with bytes: a simple request, sent without preflight and without Content-Type
        await fetch(`${url}/publish`, {
          method: 'POST',
          mode: 'no-cors',
          body: new TextEncoder().encode(body),
        })
        const socket = new WebSocket(`${url.replace('http:', 'ws:')}/live`)
        return new Promise<string>((resolve) => {
          socket.onopen = () => resolve('open')
          socket.onclose = () => resolve('refused')
        })
      },
      { url, body: JSON.stringify(forged) },
    )
    t.equal(attempt, 'refused', 'the WebSocket never opens')
    // the forged publish was answered (the fetch resolved): had it been accepted, it would be stored
    const stored = await get<unknown[]>(url, '/events?topic=browser.forged')
    t.same(stored.body, [], 'nothing was stored')
  },
)

t.test(
  'in a browser, a database outage shows as such, with the last figures and their age, then passes',
  { skip },
  async (t) => {
    const db = await testDatabase(t)
    const { url } = await startApp(t, { DATABASE_URL: db.url, SHARDS: '2' })
    t.equal((await post(url, '/publish', batch(20, []))).status, 200)
    const page = await (await launch(t)).newPage()
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(e.message))
    await page.goto(`${url}/dashboard`)
    await page.waitForSelector('#database[data-state="up"]')
    await page.locator('#received', { hasText: /^20$/ }).waitFor()

    // the app's connections are cut and no new one is let in: every snapshot now fails (the
    // switch is thrown from another database: one cannot lock oneself out)
    const suite = await readSuite()
    const admin = postgres(suite!.url, { max: 1, onnotice: () => {} })
    t.teardown(() => admin.end({ timeout: 5 }))
    const name = new URL(db.url).pathname.slice(1)
    const allow = (on: boolean) => admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS ${on}`)
    t.teardown(() => allow(true))
    await allow(false)
    await admin`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE application_name = 'pubsub-aggregator' AND datname = ${name}`

    await page.waitForSelector('#database[data-state="down"]')
    await page.locator('#age', { hasText: /^[1-9]\d*s ago$/ }).waitFor()
    t.equal(await page.locator('#database-card').getAttribute('data-state'), 'bad', 'red')
    t.match(await page.locator('#database-detail').textContent(), /^not answering for \d+s$/)
    const status = (await page.locator('#status').textContent()) ?? ''
    t.equal(status, 'live', 'the feed itself is live: it says the database is down')
    t.equal(await page.locator('#received').textContent(), '20', 'the last figures stay shown')
    t.match(
      await page.locator('#shard-summary').textContent(),
      /^2 of 2 workers up/,
      'the workers, as the shards report them during the outage',
    )

    await allow(true)
    await page.waitForSelector('#database[data-state="up"]')
    await page.locator('#age', { hasText: 'just now' }).waitFor()
    t.equal(await page.locator('#received').textContent(), '20', 'back by itself')
    t.same(problems, [], 'no script error')
  },
)

t.test(
  'before the first message, the page counts the wait from the connection, not from 1970',
  { skip },
  async (t) => {
    const db = await testDatabase(t)
    const { url } = await startApp(t, { DATABASE_URL: db.url })
    const page = await (await launch(t)).newPage()
    // the socket opens and nothing ever arrives on it
    await page.routeWebSocket(/\/live$/, () => {})
    await page.goto(`${url}/dashboard`)
    await page.waitForSelector('#status[data-state="stale"]')
    t.match(await page.locator('#status').textContent(), /^no update for \d{1,2}s$/)
  },
)
