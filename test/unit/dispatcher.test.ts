/**
 * The dispatcher, in process: a real uWebSockets.js server on a free port with fake services
 * behind it (no database). Requests go over raw keep-alive connections, so a connection opened
 * before shutdown can still ask after it began, and its closing is observable.
 */
import net from 'node:net'
import pino from 'pino'
import t, { type Test } from 'tap'
import { Tokens } from '../../src/http/auth.js'
import { BodyBudget } from '../../src/http/budget.js'
import { Origins } from '../../src/http/origin.js'
import type { Services } from '../../src/http/route.js'
import { HttpServer } from '../../src/http/server.js'
import { TopicActivity } from '../../src/dashboard/topic-activity.js'
import type { Stats } from '../../src/stats/stats.js'
import type { Vitals } from '../../src/stats/vitals.js'
import { loadUws } from '../../src/uws.js'

interface Answer {
  status: number
  headers: Map<string, string>
  body: string
}

/** One keep-alive connection; answers are read by their Content-Length. */
class Connection {
  private buffer = ''
  private waiting: (() => void) | null = null
  closed = false

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      this.buffer += chunk
      this.waiting?.()
    })
    socket.on('close', () => {
      this.closed = true
      this.waiting?.()
    })
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new Connection(socket)))
      socket.once('error', reject)
    })
  }

  async request(method: string, path: string, headers: Record<string, string> = {}) {
    const body = method === 'POST' ? '[]' : ''
    const lines = [`${method} ${path} HTTP/1.1`, 'Host: test', `Content-Length: ${body.length}`]
    for (const [key, value] of Object.entries(headers)) lines.push(`${key}: ${value}`)
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`)
    return this.answer()
  }

  async answer(): Promise<Answer> {
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n')
      if (end >= 0) {
        const [statusLine, ...fields] = this.buffer.slice(0, end).split('\r\n')
        const headers = new Map(
          fields.map((f) => [
            f.slice(0, f.indexOf(':')).toLowerCase(),
            f.slice(f.indexOf(':') + 2),
          ]),
        )
        const length = Number(headers.get('content-length') ?? 0)
        if (this.buffer.length >= end + 4 + length) {
          const body = this.buffer.slice(end + 4, end + 4 + length)
          this.buffer = this.buffer.slice(end + 4 + length)
          return { status: Number(statusLine!.split(' ')[1]), headers, body }
        }
      }
      if (this.closed) throw new Error('connection closed before a whole answer')
      await new Promise<void>((resolve) => (this.waiting = resolve))
    }
  }

  /** Resolves once the server has closed the connection. */
  async closedByServer(): Promise<boolean> {
    while (!this.closed) await new Promise<void>((resolve) => (this.waiting = resolve))
    return true
  }

  destroy(): void {
    this.socket.destroy()
  }
}

const STATS = { topics: [], topic_counts: {}, shards: [] } as unknown as Stats
const HISTOGRAM = { bounds: [], counts: [] }
const QUIET: Vitals = {
  accepted: 0,
  stored: 0,
  duplicates: 0,
  failed: 0,
  errors: new Map(),
  request: HISTOGRAM,
  commit: HISTOGRAM,
  inFlight: 0,
  queued: 0,
  queueMax: 1,
  heldBytes: 0,
  heldMaxBytes: 1,
}

/** Counts calls to the services; `publish` waits until `release()`, unless `held` is false. */
function fakeServices(held = true) {
  const calls = { publish: 0, stats: 0 }
  let release = () => {}
  let published = () => {}
  const publishing = new Promise<void>((resolve) => (published = resolve))
  const services: Services = {
    full: () => false,
    topics: () => Promise.resolve([]),
    publish: () => {
      calls.publish++
      published()
      return new Promise((resolve) => {
        release = () => resolve({ kind: 'queued', accepted: 0 })
        if (!held) release()
      })
    },
    feed: (query) => Promise.resolve({ events: [], next: query.after, more: false, held: false }),
    commits: { subscribe: () => () => {} },
    stats: () => {
      calls.stats++
      return Promise.resolve(STATS)
    },
    workers: () => [],
    ready: () => Promise.resolve({ ready: true, checks: {} }),
    topicTotals: () => Promise.resolve([]),
    vitals: () => Promise.resolve(QUIET),
    activity: new TopicActivity(),
  }
  return { services, calls, publishing, release: () => release() }
}

async function start(
  t: Test,
  services: Services,
  { tokens = [], origins = [] }: { tokens?: string[]; origins?: string[] } = {},
) {
  const server = new HttpServer(loadUws(), services, {
    host: '127.0.0.1',
    port: 0,
    bodyLimitBytes: 1024,
    bodyBudget: new BodyBudget(4096),
    bodyTimeoutMs: 10_000,
    subscribersMax: 10,
    subscriberBufferBytes: 4096,
    heartbeatMs: 15_000,
    ackMode: 'async',
    pageMaxBytes: 1024,
    tokens: new Tokens(tokens),
    authRead: true,
    origins: new Origins(origins),
    metrics: {
      contentType: 'text/plain; version=0.0.4',
      response: () => {},
      text: () => Promise.resolve('up 1\n'),
    },
    version: '0.0.0-test',
    log: pino({ enabled: false }),
  })
  const port = await server.listen()
  const connections: Connection[] = []
  const connect = async () => {
    const connection = await Connection.open(port)
    connections.push(connection)
    return connection
  }
  t.teardown(async () => {
    await server.close()
    for (const connection of connections) connection.destroy()
  })
  return { server, connect }
}

t.test(
  'while the server closes, /metrics, /docs and /openapi.json refuse like the API',
  async (t) => {
    const fake = fakeServices()
    const { server, connect } = await start(t, fake.services)
    const paths = ['/metrics', '/docs', '/docs/init.js', '/openapi.json', '/stats', '/dashboard']
    const connections = await Promise.all(paths.map(connect))
    const pending = await connect()
    const answered = pending.request('POST', '/publish')
    await fake.publishing
    const closed = server.close()

    for (const [i, path] of paths.entries()) {
      const answer = await connections[i]!.request('GET', path)
      t.equal(answer.status, 503, `GET ${path}`)
      t.equal(answer.body, '{"error":"shutting_down","message":"the server is shutting down"}')
      t.equal(answer.headers.get('retry-after'), '1')
      t.equal(answer.headers.get('connection'), 'close')
      t.ok(await connections[i]!.closedByServer(), 'and closes the connection')
    }

    fake.release()
    t.equal((await answered).status, 202, 'the request accepted before still gets its answer')
    await closed
  },
)

t.test(
  'while the server closes, health checks answer and /readyz says it is closing',
  async (t) => {
    const fake = fakeServices()
    const { server, connect } = await start(t, fake.services)
    const probe = await connect()
    const pending = await connect()
    const answered = pending.request('POST', '/publish')
    await fake.publishing
    const closed = server.close()

    t.equal((await probe.request('GET', '/health')).status, 200)
    t.equal((await probe.request('GET', '/healthz')).status, 200)
    const ready = await probe.request('GET', '/readyz')
    t.equal(ready.status, 503)
    t.same(JSON.parse(ready.body), { status: 'closing', checks: {} })
    t.equal(ready.headers.get('retry-after'), '1')
    t.equal(probe.closed, false, 'probes keep their connection')

    fake.release()
    await answered
    await closed
  },
)

t.test('a request without a valid token is refused before its handler runs', async (t) => {
  const fake = fakeServices()
  const { connect } = await start(t, fake.services, { tokens: ['secret-token'] })
  const client = await connect()
  const refused = await client.request('GET', '/stats')
  t.equal(refused.status, 401)
  t.equal(refused.headers.get('www-authenticate'), 'Bearer')
  t.equal(fake.calls.stats, 0, 'the handler never ran')
  t.equal((await client.request('POST', '/publish')).status, 401)
  t.equal(fake.calls.publish, 0)
  const allowed = await client.request('GET', '/stats', { Authorization: 'Bearer secret-token' })
  t.equal(allowed.status, 200)
  t.equal(fake.calls.stats, 1)
  t.equal((await client.request('GET', '/health')).status, 200, 'health checks stay open')
})

/** The headers of a WebSocket handshake, as a browser sends them. */
const UPGRADE = {
  Upgrade: 'websocket',
  Connection: 'Upgrade',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version': '13',
}

t.test('a publish from a foreign page is refused with 403 before its handler runs', async (t) => {
  const fake = fakeServices()
  const { connect } = await start(t, fake.services)
  const client = await connect()
  for (const path of ['/publish', '/publish/batch']) {
    const refused = await client.request('POST', path, { Origin: 'https://evil.example' })
    t.equal(refused.status, 403, path)
    t.same(JSON.parse(refused.body), {
      error: 'forbidden_origin',
      message:
        "pages from https://evil.example may not call this route: only the server's own origin and those in ALLOWED_ORIGINS may",
    })
  }
  t.equal(fake.calls.publish, 0, 'the handler never ran')
  t.equal(client.closed, false, 'the connection stays open')
})

t.test(
  'a publish from the server’s own origin, on either scheme, or with no Origin, passes',
  async (t) => {
    const fake = fakeServices(false)
    const { connect } = await start(t, fake.services)
    const client = await connect()
    t.equal((await client.request('POST', '/publish')).status, 202, 'no Origin')
    t.equal((await client.request('POST', '/publish', { Origin: 'http://test' })).status, 202)
    // behind a TLS proxy, the page is https while the request reaching us is plain http
    const https = await client.request('POST', '/publish', { Origin: 'https://TEST' })
    t.equal(https.status, 202, 'https, in capitals')
    t.equal(fake.calls.publish, 3)
  },
)

t.test('reads are not checked: a foreign page cannot read their answers', async (t) => {
  const fake = fakeServices()
  const { connect } = await start(t, fake.services)
  const client = await connect()
  const read = await client.request('GET', '/stats', { Origin: 'https://evil.example' })
  t.equal(read.status, 200)
  t.equal(fake.calls.stats, 1)
})

t.test('a foreign page is refused before its token is looked at', async (t) => {
  const fake = fakeServices()
  const { connect } = await start(t, fake.services, { tokens: ['secret-token'] })
  const client = await connect()
  const refused = await client.request('POST', '/publish', {
    Origin: 'https://evil.example',
    Authorization: 'Bearer secret-token',
  })
  t.equal(refused.status, 403)
  t.equal(
    refused.headers.get('www-authenticate'),
    undefined,
    'no challenge: a token would not help',
  )
  t.equal(fake.calls.publish, 0)
})

t.test('/live refuses a foreign page’s handshake and upgrades the own origin’s', async (t) => {
  const { connect } = await start(t, fakeServices().services, { origins: ['https://app.example'] })
  const foreign = await connect()
  const refused = await foreign.request('GET', '/live', {
    ...UPGRADE,
    Origin: 'https://evil.example',
  })
  t.equal(refused.status, 403)
  t.match(JSON.parse(refused.body), { error: 'forbidden_origin' })
  for (const origin of ['http://test', 'https://app.example']) {
    const own = await connect()
    t.equal((await own.request('GET', '/live', { ...UPGRADE, Origin: origin })).status, 101, origin)
  }
})

t.test(
  'paths off the table get 404, other methods 405 with Allow, a plain GET /live 426',
  async (t) => {
    const { connect } = await start(t, fakeServices().services)
    const client = await connect()
    const missing = await client.request('GET', '/nowhere')
    t.equal(missing.status, 404)
    t.same(JSON.parse(missing.body), { error: 'not_found', message: 'no route for GET /nowhere' })
    const wrong = await client.request('DELETE', '/events')
    t.equal(wrong.status, 405)
    t.equal(wrong.headers.get('allow'), 'GET')
    t.equal((await client.request('GET', '/publish')).headers.get('allow'), 'POST')
    t.equal((await client.request('POST', '/docs/init.js')).status, 404)
    const plain = await client.request('GET', '/live', { Authorization: 'Bearer x' })
    t.equal(plain.status, 426)
    t.equal(plain.headers.get('upgrade'), 'websocket')
  },
)

t.test('a read the database refuses as data (SQLSTATE class 22) is a 400, not a 503', async (t) => {
  const fake = fakeServices()
  const failing = (code: string) =>
    Object.assign(new Error('the database refused'), { code, severity: 'ERROR' })
  let next: Error = failing('22021')
  fake.services.feed = () => Promise.reject(next)
  const { connect } = await start(t, fake.services)
  const client = await connect()
  const refused = await client.request('GET', '/events?topic=x')
  t.equal(refused.status, 400, 'invalid byte sequence: the client’s value')
  t.match(JSON.parse(refused.body), { error: 'invalid_query' })
  next = failing('57P01')
  const down = await client.request('GET', '/events?topic=x')
  t.equal(down.status, 503, 'a terminated connection: the database’s state')
  t.match(JSON.parse(down.body), { error: 'database_unavailable' })
})
