/**
 * `npm run screenshots`: the dashboard's pictures in docs/, taken from a real run. It starts a
 * PostgreSQL of its own (embedded, or on `DATABASE_URL`), the aggregator in this process and
 * headless Chromium, drives traffic through four scenes and shoots each:
 *
 *   docs/dashboard.png         normal traffic, with a few refused requests (422, 413)
 *   docs/dashboard-load.png    clients hammering: the queue fills, `503 queue_full` answers
 *   docs/dashboard-outage.png  the database stopped under traffic (embedded server only)
 *   docs/dashboard-narrow.png  a phone-sized window joining afterwards: the history it is sent
 *
 * Not part of `npm test`: it takes about four minutes and rewrites files in docs/.
 */
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Page } from 'playwright-core'
import pino from 'pino'
import { start } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { event, type TestEvent } from '../test/support/client.js'
import { startPostgres } from '../test/support/postgres.js'
import { batch } from '../test/support/traffic.js'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url))
/** Stretches or shrinks every scene (`SCREENSHOT_PACE=0.2` for a quick look). */
const PACE = Number(process.env.SCREENSHOT_PACE ?? 1)
/** A request this large is refused `413 too_many_events`. */
const MAX_EVENTS = 2000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms * PACE))

/** Clients publishing until stopped: `size` events a request, `pauseMs` between requests. */
class Traffic {
  private running = true
  private readonly sent: TestEvent[] = []
  private readonly clients: Promise<void>[]
  shift = 0

  constructor(
    private readonly url: string,
    concurrency: number,
    private readonly size: () => number,
    private readonly pauseMs: number,
  ) {
    this.clients = Array.from({ length: concurrency }, (_, i) => this.client(i))
  }

  private async client(index: number): Promise<void> {
    for (let n = 0; this.running; n++) {
      // now and then a request the edge refuses: an invalid event, one too many events
      const body =
        index === 0 && n % 25 === 7
          ? [{ ...event(), timestamp: 'yesterday' }]
          : index === 0 && n % 60 === 31
            ? Array.from({ length: MAX_EVENTS + 1 }, () => event())
            : batch(this.size(), this.sent, this.shift)
      const status = await post(this.url, body)
      if (status === 200) {
        this.sent.push(...body.slice(0, 20))
        this.sent.splice(0, Math.max(0, this.sent.length - 5000))
      }
      await new Promise((resolve) => setTimeout(resolve, status === 200 ? this.pauseMs : 200))
    }
  }

  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.clients)
  }
}

async function post(url: string, events: unknown[]): Promise<number | 'error'> {
  try {
    const res = await fetch(`${url}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(events),
    })
    await res.arrayBuffer()
    return res.status
  } catch {
    return 'error'
  }
}

async function shoot(page: Page, name: string): Promise<void> {
  const file = path.join(DOCS, name)
  await page.screenshot({ path: file, fullPage: true })
  process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`)
}

async function pick(page: Page, seconds: number): Promise<void> {
  await page.locator(`[data-window="${seconds}"]`).click()
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium)`)
  const pg = await startPostgres()
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: await pg.createDatabase('dashboard_screenshots'),
    SHARDS: '4',
    QUEUE_MAX_EVENTS: '20000',
    MAX_EVENTS_PER_REQUEST: String(MAX_EVENTS),
    DB_RETRY_MS: '3000',
    LOG_LEVEL: 'fatal',
  })
  const app = await start(config, pino({ level: 'fatal' }))
  const url = `http://127.0.0.1:${app.port}`
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run'],
  })
  try {
    const page = await browser.newPage({
      viewport: { width: 1280, height: 900 },
      colorScheme: 'dark',
    })
    await page.goto(`${url}/dashboard`)

    let wave = 0
    const normal = new Traffic(
      url,
      4,
      () => Math.round(120 + 80 * Math.sin(wave++ / 40) + 30 * Math.random()),
      150,
    )
    await sleep(100_000)
    normal.shift = 3
    await sleep(50_000)
    await pick(page, 300)
    await shoot(page, 'dashboard.png')

    const heavy = new Traffic(url, 32, () => 1000, 0)
    await sleep(45_000)
    await shoot(page, 'dashboard-load.png')
    await heavy.stop()
    await sleep(10_000)

    if (pg.outage !== undefined) {
      await pg.outage.stop()
      await sleep(20_000)
      await pick(page, 60)
      await shoot(page, 'dashboard-outage.png')
      await pg.outage.start()
      await page.waitForSelector('#database[data-state="up"]', { timeout: 60_000 })
    } else process.stdout.write('DATABASE_URL is set: no outage scene\n')
    await sleep(15_000)
    await normal.stop()

    const narrow = await browser.newPage({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      colorScheme: 'light',
    })
    await narrow.goto(`${url}/dashboard`)
    await narrow.waitForSelector('#database[data-state="up"]')
    await pick(narrow, 900)
    await sleep(2000)
    await shoot(narrow, 'dashboard-narrow.png')
  } finally {
    await browser.close()
    await app.stop()
    await pg.stop()
  }
}

await main()
