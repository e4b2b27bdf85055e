/**
 * The dashboard in headless Chromium, as an operator opens it: late, after traffic (the history
 * arrives with the connection, over the window picked), and on a phone-sized screen (nothing cut
 * off). Beside test/dashboard-browser.test.ts, so each file stays within its time.
 */
import t from 'tap'
import { startApp } from './support/app.js'
import { launch, skip } from './support/browser.js'
import { event, post, type TestEvent } from './support/client.js'
import { testDatabase } from './support/database.js'
import { batch } from './support/traffic.js'

t.test(
  'in a browser, a viewer joining late sees the history at once, over the window picked',
  { skip },
  async (t) => {
    const db = await testDatabase(t)
    const { url } = await startApp(t, { DATABASE_URL: db.url, SHARDS: '2' })
    const sent: TestEvent[] = []
    t.equal((await post(url, '/publish', { ...event(), timestamp: 'yesterday' })).status, 422)
    // seconds of traffic with nobody watching: the ring keeps them (two beats make a pulse)
    const until = Date.now() + 3500
    while (Date.now() < until) {
      const events = batch(50, sent)
      t.equal((await post(url, '/publish', events)).status, 200)
      sent.push(...events)
      await new Promise((r) => setTimeout(r, 100))
    }
    const page = await (await launch(t)).newPage()
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(e.message))
    await page.goto(`${url}/dashboard`)
    await page.waitForSelector('#status[data-state="live"]')
    await page.locator('#errors', { hasText: '422 validation' }).waitFor()
    t.match(
      await page.locator('#errors tr').first().textContent(),
      /^422 validation[\d.]+ \/s1$/,
      'the refusal made before the page opened, counted over the window',
    )
    t.equal(await page.locator('[data-window="300"]').getAttribute('aria-pressed'), 'true')
    t.equal(await page.locator('#errors-window').textContent(), 'last 5 min')
    await page.locator('[data-window="60"]').click()
    t.equal(await page.locator('[data-window="60"]').getAttribute('aria-pressed'), 'true')
    t.equal(await page.locator('[data-window="300"]').getAttribute('aria-pressed'), 'false')
    t.equal(await page.locator('#errors-window').textContent(), 'last 1 min')
    await page.locator('#topics .name').first().waitFor()
    t.ok((await page.locator('#topics .name').count()) > 0, 'the active topics of the last minute')
    t.same(problems, [], 'no script error')
  },
)

t.test(
  'in a browser on a phone-sized screen, nothing is cut: no page wider than the screen',
  { skip },
  async (t) => {
    const db = await testDatabase(t)
    const { url } = await startApp(t, { DATABASE_URL: db.url, SHARDS: '8' })
    t.equal((await post(url, '/publish', batch(200, []))).status, 200)
    const page = await (await launch(t)).newPage({ viewport: { width: 360, height: 740 } })
    await page.goto(`${url}/dashboard`)
    await page.locator('#shards tr').nth(7).waitFor()
    const widths = await page.evaluate<{ page: number; screen: number }>(
      '({ page: document.documentElement.scrollWidth, screen: window.innerWidth })',
    )
    t.ok(widths.page <= widths.screen, `the page fits: ${widths.page} px in ${widths.screen} px`)
    // the shards table may be wider than the phone: it scrolls inside its panel, every column
    // within reach, instead of being cut off
    const last = page.locator('.shards th').last()
    await last.scrollIntoViewIfNeeded()
    t.ok(await last.isVisible(), 'the last column can be scrolled to')
    const box = await last.boundingBox()
    t.ok(box !== null && box.x >= 0 && box.x + box.width <= widths.screen, 'and is then on screen')
    const [a, b] = await Promise.all(
      [0, 1].map((n) => page.locator('.vitals .card').nth(n).boundingBox()),
    )
    t.equal(a?.y, b?.y, 'two cards a row: the vitals fit one screen')
  },
)
