/**
 * The live dashboard: a self-contained page, and shared stats snapshots on /live. The pace (one
 * a second, one query for all viewers) is checked with a fake clock in test/unit/live.test.ts.
 */
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import type { LiveHistory, LiveMessage, LiveSnapshot } from '../src/dashboard/live.js'
import { spawnAggregator } from './support/aggregator.js'
import { startApp } from './support/app.js'
import { event, post } from './support/client.js'
import { testDatabase } from './support/database.js'

const db = await testDatabase(t)
const { url } = await startApp(t, { DATABASE_URL: db.url, SHARDS: '2' })

interface Message {
  raw: string
  snapshot: LiveSnapshot
}

interface Viewer {
  socket: WebSocket
  /** The history sent on joining, first of all. */
  history: Promise<LiveHistory>
  messages: Message[]
  /** The first message so far or to come that satisfies `done`. */
  until(done: (s: LiveSnapshot) => boolean, timeoutMs?: number): Promise<Message>
  /** Resolves once `count` messages have arrived. */
  received(count: number): Promise<void>
}

const liveUrl = (base: string) => `${base.replace('http:', 'ws:')}/live`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function view(t: Test, base = url, options: WebSocket.ClientOptions = {}): Promise<Viewer> {
  const socket = new WebSocket(liveUrl(base), options)
  const messages: Message[] = []
  let joined: (history: LiveHistory) => void = () => {}
  const history = new Promise<LiveHistory>((resolve) => (joined = resolve))
  socket.on('message', (data: Buffer) => {
    const raw = data.toString()
    const message = JSON.parse(raw) as LiveMessage
    if ('history' in message) {
      if (messages.length > 0) throw new Error('the history comes first, once')
      joined(message)
    } else messages.push({ raw, snapshot: message as LiveSnapshot })
  })
  t.teardown(() => socket.close())
  await once(socket, 'open')
  const until = async (done: (s: LiveSnapshot) => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = messages.find((m) => done(m.snapshot))
      if (found) return found
      if (Date.now() > deadline) throw new Error(`no matching snapshot in ${timeoutMs} ms`)
      await sleep(20)
    }
  }
  return {
    socket,
    history,
    messages,
    until,
    async received(count) {
      await until(() => messages.length >= count)
    },
  }
}

/** The handshake's answer: 101 when the socket opened, else the HTTP status. */
async function handshake(base: string, protocols: string[], headers: Record<string, string> = {}) {
  const socket = new WebSocket(liveUrl(base), protocols, { headers })
  return new Promise<{ status: number; protocol: string }>((resolve, reject) => {
    socket.on('open', () => {
      resolve({ status: 101, protocol: socket.protocol })
      socket.close()
    })
    socket.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, protocol: '' })
      res.resume()
    })
    socket.on('error', reject)
  })
}

const inlineHash = (html: string, tag: string) => {
  const body = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(html)![1]!
  return `'sha256-${createHash('sha256').update(body).digest('base64')}'`
}

t.test(
  'the page is served on / and /dashboard as HTML that loads nothing from elsewhere',
  async (t) => {
    for (const path of ['/', '/dashboard']) {
      const res = await fetch(url + path)
      const html = await res.text()
      t.equal(res.status, 200, path)
      t.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
      t.match(html, /^<!doctype html>/)
      t.match(html, /<canvas id="chart">/)
      t.notMatch(html, /https?:\/\//i, 'no absolute URL to another host')
      t.notMatch(html, /@import|\burl\(/, 'no style fetched from anywhere')
      const references = [...html.matchAll(/\b(?:src|href)\s*=\s*["']?([^"'\s>]*)/gi)].map(
        (m) => m[1],
      )
      t.ok(
        references.every((r) => r?.startsWith('data:')),
        `only data: references (${references.join(', ')})`,
      )
      const csp = res.headers.get('content-security-policy') ?? ''
      t.match(csp, "default-src 'none'")
      t.match(csp, "connect-src 'self'")
      t.ok(
        csp.includes(`script-src ${inlineHash(html, 'script')}`),
        'the CSP allows its own script',
      )
      t.ok(csp.includes(`style-src ${inlineHash(html, 'style')}`), 'the CSP allows its own style')
    }
  },
)

t.test(
  'wrong methods on the dashboard routes are 405, and /live without an upgrade is 426',
  async (t) => {
    for (const path of ['/', '/dashboard', '/live']) {
      const res = await fetch(url + path, { method: 'POST' })
      t.equal(res.status, 405, path)
      t.equal(res.headers.get('allow'), 'GET')
    }
    const plain = await fetch(`${url}/live`)
    t.equal(plain.status, 426)
    t.equal(plain.headers.get('upgrade'), 'websocket')
    t.match(await plain.json(), { error: 'upgrade_required' })
  },
)

t.test(
  'a viewer gets a snapshot on joining, then snapshots that follow published events',
  async (t) => {
    const viewer = await view(t)
    const first = await viewer.until(() => true)
    t.match(first.snapshot, {
      at: Number,
      received: Number,
      unique_processed: Number,
      duplicate_dropped: Number,
      rejected: Number,
      in_flight: Number,
      topic_count: Number,
      active: { '60': Array, '300': Array, '900': Array },
      pulses: Array,
      uptime: Number,
      started_at: String,
      shards: [{ shard: 0, queue_depth: Number, last_batch_ms: null, worker_up: true }, {}],
    })
    const before = first.snapshot
    const events = Array.from({ length: 30 }, () => event({ topic: 'dash.live' }))
    const published = await post(url, '/publish', [...events, ...events.slice(0, 5)])
    t.equal(published.status, 200, JSON.stringify(published.body))
    const after = await viewer.until(
      (s) =>
        s.unique_processed + s.duplicate_dropped >=
        before.unique_processed + before.duplicate_dropped + 35,
    )
    t.equal(after.snapshot.unique_processed - before.unique_processed, 30)
    t.equal(after.snapshot.duplicate_dropped - before.duplicate_dropped, 5)
    t.equal(after.snapshot.topic_count, 1)
    // the two shards' batches may land in different snapshots: wait for the topic's whole count
    const active = await viewer.until((s) => s.active['60']?.[0]?.total === 30)
    t.same(
      active.snapshot.active['60'],
      [{ topic: 'dash.live', events: 35, rate: active.snapshot.active['60']![0]!.rate, total: 30 }],
      'the active topic: events committed over the last minute, and its all-time count',
    )
    // a beat later the second of the commit is history: a viewer joining now sees it
    await viewer.until((s) => s.pulses.some((p) => p.at > after.snapshot.at))
    const { history } = await (await view(t)).history
    t.ok(
      history.some((p) => p.unique > 0 && p.commit_p50 !== null && p.commit_p99 !== null),
      'a second with a commit has its rate and its commit latency',
    )
    t.ok(
      history.some((p) => p.request_p99 !== null),
      'the publish request, its latency',
    )
    t.ok(after.snapshot.shards.some((s) => s.batches > 0 && s.last_batch_ms !== null))
    const taken = viewer.messages.map((m) => m.snapshot.at)
    t.same(
      taken,
      [...new Set(taken)].sort((x, y) => x - y),
      'each snapshot is newer than the last',
    )
  },
)

t.test('two viewers receive the very same snapshots', async (t) => {
  const a = await view(t)
  await a.received(1)
  const b = await view(t)
  await b.received(3)
  // a may not have the last one yet: it was sent to both at once
  await a.until((s) => s.at === b.messages.at(-1)!.snapshot.at)
  const seenByA = new Map(a.messages.map((m) => [m.snapshot.at, m.raw]))
  for (const m of b.messages) {
    t.equal(seenByA.get(m.snapshot.at), m.raw, `b's snapshot of ${m.snapshot.at} is a's`)
  }
})

t.test(
  'with AUTH_READ a viewer needs a token, in a header or as the bearer subprotocol',
  async (t) => {
    const token = 'dashboard-token-0123456789'
    const guarded = await startApp(t, {
      DATABASE_URL: db.url,
      AUTH_TOKENS: token,
      AUTH_READ: 'true',
    })
    t.equal((await handshake(guarded.url, [])).status, 401)
    t.equal((await handshake(guarded.url, ['bearer.d3Jvbmc'])).status, 401)
    t.equal((await handshake(guarded.url, [], { authorization: `Bearer ${token}` })).status, 101)
    const protocol = `bearer.${Buffer.from(token).toString('base64url')}`
    t.same(await handshake(guarded.url, [protocol]), { status: 101, protocol })
    t.equal((await fetch(`${guarded.url}/dashboard`)).status, 200, 'the page itself holds no data')
  },
)

t.test('a SIGTERM closes viewers with 1001 and the process still exits 0', async (t) => {
  const server = await spawnAggregator({ DATABASE_URL: db.url })
  const viewer = await view(t, server.url)
  await viewer.until(() => true)
  const closed = once(viewer.socket, 'close') as Promise<[number, Buffer]>
  const exited = server.stop('SIGTERM')
  const [code] = await closed
  t.equal(code, 1001)
  t.equal(await exited, 0)
})
