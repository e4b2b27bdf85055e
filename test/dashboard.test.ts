/** The live dashboard: a self-contained page, and one shared stats snapshot a second on /live. */
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { spawnAggregator } from '../bench/aggregator.js'
import type { LiveSnapshot } from '../src/dashboard/live.js'
import { event, post } from './helpers/client.js'
import { testDatabase } from './helpers/postgres.js'
import { startServer } from './helpers/server.js'

const db = await testDatabase(t)
const { url } = await startServer(t, { DATABASE_URL: db.url, SHARDS: '2' })

interface Message {
  raw: string
  snapshot: LiveSnapshot
  /** Local clock when it arrived. */
  arrived: number
}

interface Viewer {
  socket: WebSocket
  messages: Message[]
  /** The first message so far or to come that satisfies `done`. */
  until(done: (s: LiveSnapshot) => boolean, timeoutMs?: number): Promise<Message>
}

const liveUrl = (base: string) => `${base.replace('http:', 'ws:')}/live`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function view(t: Test, base = url, options: WebSocket.ClientOptions = {}): Promise<Viewer> {
  const socket = new WebSocket(liveUrl(base), options)
  const messages: Message[] = []
  socket.on('message', (data: Buffer) => {
    const raw = data.toString()
    messages.push({ raw, snapshot: JSON.parse(raw) as LiveSnapshot, arrived: Date.now() })
  })
  t.teardown(() => socket.close())
  await once(socket, 'open')
  return {
    socket,
    messages,
    async until(done, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = messages.find((m) => done(m.snapshot))
        if (found) return found
        if (Date.now() > deadline) throw new Error(`no matching snapshot in ${timeoutMs} ms`)
        await sleep(20)
      }
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
  'a viewer gets a snapshot at once, then one a second that follows published events',
  async (t) => {
    const opened = Date.now()
    const viewer = await view(t)
    const first = await viewer.until(() => true, 2000)
    t.ok(first.arrived - opened < 1000, `first snapshot after ${first.arrived - opened} ms`)
    t.match(first.snapshot, {
      at: Number,
      received: Number,
      unique_processed: Number,
      duplicate_dropped: Number,
      rejected: Number,
      in_flight: Number,
      topic_count: Number,
      top_topics: Array,
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
    t.same(after.snapshot.top_topics, [{ topic: 'dash.live', count: 30 }])
    t.equal(after.snapshot.topic_count, 1)
    t.ok(after.snapshot.shards.some((s) => s.batches > 0 && s.last_batch_ms !== null))
    await sleep(3200)
    // the first came at once, off the timer's beat; from then on the timer sets the pace
    const paced = viewer.messages.slice(1)
    const gaps = paced.slice(1).map((m, i) => m.snapshot.at - paced[i]!.snapshot.at)
    t.ok(gaps.length >= 3, `${gaps.length + 1} snapshots in ~4 s`)
    t.ok(
      gaps.every((gap) => gap > 700 && gap < 1500),
      `about one a second, never more than 1.5 s apart: ${gaps.join(', ')}`,
    )
  },
)

t.test('two viewers receive the very same snapshots: one query a second for all', async (t) => {
  const a = await view(t)
  await a.until(() => true)
  const joined = Date.now()
  const b = await view(t)
  await sleep(3200)
  const seenByA = new Map(a.messages.map((m) => [m.snapshot.at, m.raw]))
  t.ok(b.messages.length >= 3, `b got ${b.messages.length} snapshots`)
  for (const m of b.messages) {
    t.equal(seenByA.get(m.snapshot.at), m.raw, `b's snapshot of ${m.snapshot.at} is a's`)
  }
  const since = [...a.messages, ...b.messages].filter((m) => m.arrived >= joined)
  const times = [...new Set(since.map((m) => m.snapshot.at))].sort()
  const gaps = times.slice(1).map((at, i) => at - times[i]!)
  t.ok(
    gaps.every((gap) => gap > 700),
    `no snapshot taken for one viewer alone: ${gaps.join(', ')}`,
  )
})

t.test(
  'with AUTH_READ a viewer needs a token, in a header or as the bearer subprotocol',
  async (t) => {
    const token = 'dashboard-token-0123456789'
    const guarded = await startServer(t, {
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
