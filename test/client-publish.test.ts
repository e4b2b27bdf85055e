/**
 * The client's publish() against the app and a real PostgreSQL, through a proxy that injects
 * faults: batches by count and bytes, gzip bodies, retries that honour Retry-After, and the
 * at-least-once promise: a retry after a lost answer re-sends stored events, which the server
 * drops as duplicates, so each event is stored exactly once.
 */
import t, { type Test } from 'tap'
import { AggregatorClient, ClientError, PublishError, type PublishEvent } from '../client/index.js'
import { startApp } from './support/app.js'
import { event, nothingListening } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'
import { startFaultProxy, type Fault } from './support/fault-proxy.js'

const fast = { baseMs: 5, capMs: 50, giveUpAfterMs: 10_000 }

// one app for the file; each test publishes to a topic of its own
const db = await testDatabase(t)
const app = await startApp(t, { DATABASE_URL: db.url })
let tests = 0

async function setUp(t: Test, fault: (n: number) => Fault = () => 'forward') {
  const topic = `client.publish.${++tests}`
  const proxy = await startFaultProxy(t, app.url, fault)
  const events = (n: number) => Array.from({ length: n }, () => event({ topic })) as PublishEvent[]
  return { proxy, events, stored: () => storedEvents(db.sql, topic) }
}

t.test('events go in gzip batches cut by count, and are stored once each', async (t) => {
  const { proxy, events, stored } = await setUp(t)
  const client = new AggregatorClient({ url: proxy.url, batch: { events: 100 }, concurrency: 3 })
  const acknowledged: number[] = []
  const result = await client.publish(events(950), { onBatch: (b) => acknowledged.push(b.events) })
  t.same(result, { events: 950, requests: 10, retries: 0, unique: 950, duplicates: 0 })
  t.same(
    proxy.requests.map((r) => r.events).sort((a, b) => b - a),
    [100, 100, 100, 100, 100, 100, 100, 100, 100, 50],
  )
  t.ok(proxy.requests.every((r) => r.encoding === 'gzip' && r.path === '/publish?ack=durable'))
  t.equal(
    acknowledged.reduce((a, b) => a + b, 0),
    950,
    'onBatch saw every batch',
  )
  t.equal(await stored(), 950)
})

t.test(
  'batches are cut by bytes too; gzip can be turned off; async acks do not count',
  async (t) => {
    const { proxy, events, stored } = await setUp(t)
    const sample = events(1)[0]!
    const size = Buffer.byteLength(JSON.stringify(sample))
    const client = new AggregatorClient({
      url: proxy.url,
      batch: { events: 1000, bytes: 10 * (size + 8) },
      gzip: false,
    })
    const result = await client.publish(events(100), { ack: 'async' })
    t.match(result, { events: 100, retries: 0, unique: null, duplicates: null })
    t.ok(result.requests >= 10, `${result.requests} requests of at most ~10 events`)
    t.ok(proxy.requests.every((r) => r.encoding === undefined && r.events <= 10))
    t.ok(proxy.requests.every((r) => r.path === '/publish?ack=async'))
    const client2 = new AggregatorClient({ url: proxy.url })
    await client2.settledStats(20_000)
    t.equal(await stored(), 100)
  },
)

t.test('503 + Retry-After is waited out and retried; the events are stored once', async (t) => {
  const { proxy, events, stored } = await setUp(t, (n) =>
    n < 3 ? { status: 503, retryAfter: n === 0 ? '1' : '0' } : 'forward',
  )
  const client = new AggregatorClient({ url: proxy.url, concurrency: 1, retry: fast })
  const result = await client.publish(events(20))
  t.same(result, { events: 20, requests: 1, retries: 3, unique: 20, duplicates: 0 })
  t.same(
    proxy.requests.map((r) => r.answered),
    [503, 503, 503, 200],
  )
  const waited = proxy.requests[1]!.at - proxy.requests[0]!.at
  t.ok(waited >= 950, `after "Retry-After: 1" the retry came ${waited} ms later`)
  t.equal(await stored(), 20)
})

t.test(
  'a lost answer or a dropped connection: the retry re-sends, the server dedups',
  async (t) => {
    const { proxy, events, stored } = await setUp(t, (n) =>
      n === 0 ? 'lose-answer' : n === 1 ? 'drop' : 'forward',
    )
    const client = new AggregatorClient({ url: proxy.url, concurrency: 1, retry: fast })
    const result = await client.publish(events(30))
    t.same(
      proxy.requests.map((r) => r.answered),
      [503, 'drop', 200],
    )
    t.same(
      result,
      { events: 30, requests: 1, retries: 2, unique: 0, duplicates: 30 },
      'the first attempt was stored: the retry finds 30 duplicates',
    )
    t.equal(await stored(), 30, 'stored exactly once')
  },
)

t.test('a 4xx is final: not retried, and publish() says what was acknowledged', async (t) => {
  const { proxy, events } = await setUp(t)
  const client = new AggregatorClient({
    url: proxy.url,
    batch: { events: 10 },
    concurrency: 1,
    retry: fast,
  })
  const bad = [...events(10), { ...events(1)[0]!, timestamp: 'yesterday' }]
  const failure = await client.publish(bad).then(
    () => null,
    (e: unknown) => e,
  )
  t.ok(failure instanceof PublishError)
  const error = failure as PublishError
  t.match(error.reason, { kind: 'refused', status: 422, code: 'validation' })
  t.ok(error.reason instanceof ClientError)
  t.match(error.published, { events: 10, requests: 1 })
  t.equal(proxy.requests.length, 2, 'the refused batch was sent once')
})

t.test('the retry budget runs out: gave_up, with the last answer', async (t) => {
  const { proxy, events } = await setUp(t, () => ({ status: 429 }))
  const client = new AggregatorClient({
    url: proxy.url,
    retry: { baseMs: 5, capMs: 20, giveUpAfterMs: 1000 },
  })
  const error = (await client.publish(events(5)).catch((e: unknown) => e)) as PublishError
  t.match(error.reason, { kind: 'gave_up', status: 429, code: 'injected' })
  t.match(error.message, /^gave up after \d+ attempts in \d+ s: 429 injected/)
  t.ok(proxy.requests.length >= 2, `${proxy.requests.length} attempts`)
  t.same(error.published, { events: 0, requests: 0, retries: 0, unique: 0, duplicates: 0 })
})

t.test('nothing answering: stats() fails at once, publish() gives up as unreachable', async (t) => {
  const { events } = await setUp(t)
  const url = await nothingListening()
  const client = new AggregatorClient({
    url: `${url}/`,
    retry: { baseMs: 5, capMs: 20, giveUpAfterMs: 100 },
  })
  await t.rejects(client.stats(), {
    kind: 'unreachable',
    status: null,
    message: `nothing answers at ${url}: connection refused (ECONNREFUSED)`,
  })
  const error = (await client.publish(events(1)).catch((e: unknown) => e)) as PublishError
  t.match(error.reason, { kind: 'unreachable', message: /^gave up after .*nothing answers/ })
})

t.test('an abort stops publishing; a token is sent as a bearer token', async (t) => {
  const { events, stored } = await setUp(t)
  // a replica of the file's app, on the same database, that wants a token
  const guarded = await startApp(t, {
    DATABASE_URL: db.url,
    AUTH_TOKENS: 'secret-token-0123456789',
  })
  const refused = new AggregatorClient({ url: guarded.url })
  const unauthorized = (await refused.publish(events(1)).catch((e: unknown) => e)) as PublishError
  t.match(unauthorized.reason, { kind: 'refused', status: 401, code: 'unauthorized' })
  const client = new AggregatorClient({ url: guarded.url, token: 'secret-token-0123456789' })
  t.match(await client.publish(events(3)), { events: 3 }) // unique unless a retry found them stored
  const aborted = (await client
    .publish(events(3), { signal: AbortSignal.abort() })
    .catch((e: unknown) => e)) as PublishError
  t.equal(aborted.reason.name, 'AbortError')
  t.equal(await stored(), 3)
})
