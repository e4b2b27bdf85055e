/**
 * `GET /events/stream`: Server-Sent Events of the feed, against a real PostgreSQL and the app in
 * this process. Counts and orders are checked, never times.
 */
import net from 'node:net'
import t from 'tap'
import { startApp } from './support/app.js'
import { event, post } from './support/client.js'
import { testDatabase } from './support/database.js'
import { SseReader, type StreamedEvent } from './support/sse.js'

const db = await testDatabase(t)
const app = await startApp(t, { DATABASE_URL: db.url })
const url = app.url

/** Every event of `topic` as `GET /events` lists them, in feed order. */
async function listed(topic: string): Promise<string[]> {
  const res = await fetch(`${url}/events?topic=${topic}&limit=10000`)
  return ((await res.json()) as { event_id: string }[]).map((e) => e.event_id)
}

async function publish(topic: string, n: number, base = url, headers = {}): Promise<void> {
  const reply = await post(
    base,
    '/publish',
    Array.from({ length: n }, () => event({ topic })),
    { 'content-type': 'application/json', ...headers },
  )
  if (reply.status !== 200) throw new Error(`publish answered ${reply.status}`)
}

/** One sample of `/metrics`. */
async function metric(name: string, base = url, headers = {}): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { headers })).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return Number(line?.split(' ')[1])
}

const ids = (events: StreamedEvent[]) => events.map((e) => e.event_id)

t.test('a stream delivers the events published after subscribing, in order, once', async (t) => {
  const stream = await SseReader.open(url, '/events/stream?topic=live.order')
  const all = await SseReader.open(url, '/events/stream')
  t.teardown(() => (stream.close(), all.close()))
  t.equal(stream.status, 200)
  t.match(stream.headers['content-type'], /^text\/event-stream/)
  await stream.until(() => stream.frames.length > 0, 30_000, 'the first heartbeat')
  t.equal(stream.frames[0]!.comment, 'heartbeat', 'a heartbeat first: the client is subscribed')
  for (let i = 0; i < 5; i++) await publish('live.order', 20)
  await publish('live.other', 3)
  await stream.until(() => stream.events.length >= 100, 30_000, '100 events')
  t.same(ids(stream.events), await listed('live.order'), 'every event once, in feed order')
  t.ok(
    stream.events.every((e) => e.topic === 'live.order'),
    'only its topic',
  )
  await all.until(() => all.events.some((e) => e.topic === 'live.other'), 30_000, 'other topic')
  t.equal(new Set(ids(all.events)).size, all.events.length, 'the all-topics stream repeats none')
  const cursors = stream.events.map((e) => e.id)
  t.equal(new Set(cursors).size, cursors.length, 'each event has its own id')
})

t.test('a stream resumed with Last-Event-ID loses and repeats nothing', async (t) => {
  const first = await SseReader.open(url, '/events/stream?topic=live.resume')
  await publish('live.resume', 30)
  await first.until(() => first.events.length >= 12, 30_000, 'the first events')
  first.close()
  const seen = first.events.slice(0, 12)
  await publish('live.resume', 30)
  // a reconnecting EventSource sends the last id it saw; `after` in the URL is overridden by it
  const second = await SseReader.open(url, '/events/stream?topic=live.resume&after=0', {
    'last-event-id': seen.at(-1)!.id,
  })
  t.teardown(() => second.close())
  await second.until(() => seen.length + second.events.length >= 60, 30_000, 'the rest')
  t.same([...ids(seen), ...ids(second.events)], await listed('live.resume'))
  // `after` alone resumes too, where the id says
  const third = await SseReader.open(url, `/events/stream?topic=live.resume&after=${seen[5]!.id}`)
  t.teardown(() => third.close())
  await third.until(() => third.events.length >= 54, 30_000, 'after')
  t.same(ids(third.events), (await listed('live.resume')).slice(6))
})

t.test('a malformed cursor or query is refused before streaming', async (t) => {
  const header = await SseReader.open(url, '/events/stream', { 'last-event-id': 'not a cursor' })
  t.equal(header.status, 400)
  t.match(JSON.parse(header.body), { error: 'invalid_cursor', message: /Last-Event-ID/ })
  const query = await SseReader.open(url, '/events/stream?after=-1')
  t.equal(query.status, 400)
  t.match(JSON.parse(query.body), { error: 'invalid_cursor', message: /after/ })
  const topic = await SseReader.open(url, '/events/stream?topic=')
  t.equal(topic.status, 400)
  t.match(JSON.parse(topic.body), { error: 'invalid_query' })
})

t.test('subscribers to one topic share one read of the feed per wake-up', async (t) => {
  const subscribers = 20
  const streams = await Promise.all(
    Array.from({ length: subscribers }, () => SseReader.open(url, '/events/stream?topic=live.fan')),
  )
  t.teardown(() => streams.forEach((s) => s.close()))
  await Promise.all(streams.map((s) => s.until(() => s.frames.length > 0)))
  const before = await metric('aggregator_stream_feed_reads_total')
  t.equal(await metric('aggregator_stream_subscribers'), subscribers)
  const publishes = 5
  for (let i = 1; i <= publishes; i++) {
    await publish('live.fan', 4)
    await Promise.all(streams.map((s) => s.until(() => s.events.length >= 4 * i)))
  }
  const reads = (await metric('aggregator_stream_feed_reads_total')) - before
  // a wake-up per commit, each one read (and one more when a page was full): far fewer than a
  // read per subscriber and commit
  t.ok(reads <= 2 * publishes + 2, `${reads} reads for ${publishes} commits`)
  t.ok(reads < subscribers, 'fewer reads than subscribers')
  const expected = await listed('live.fan')
  for (const s of streams) t.same(ids(s.events), expected)
})

t.test('with AUTH_READ a stream needs a token; SUBSCRIBERS_MAX refuses one more', async (t) => {
  const db = await testDatabase(t)
  const token = 'stream-test-token-0123456789'
  const guarded = await startApp(t, {
    DATABASE_URL: db.url,
    AUTH_TOKENS: token,
    AUTH_READ: 'true',
    SUBSCRIBERS_MAX: '1',
  })
  const anonymous = await SseReader.open(guarded.url, '/events/stream')
  t.equal(anonymous.status, 401)
  t.match(JSON.parse(anonymous.body), { error: 'unauthorized' })
  const auth = { authorization: `Bearer ${token}` }
  const one = await SseReader.open(guarded.url, '/events/stream', auth)
  t.teardown(() => one.close())
  t.equal(one.status, 200)
  const two = await SseReader.open(guarded.url, '/events/stream', auth)
  t.equal(two.status, 503)
  t.equal(two.headers['retry-after'], '1')
  t.match(JSON.parse(two.body), { error: 'too_many_subscribers' })
})

t.test('shutdown ends open streams with the shutting_down frame', async (t) => {
  const db = await testDatabase(t)
  const closing = await startApp(t, { DATABASE_URL: db.url })
  const stream = await SseReader.open(closing.url, '/events/stream')
  await stream.until(() => stream.frames.length > 0)
  await closing.stop()
  await stream.closed()
  const last = stream.frames.at(-1)!
  t.equal(last.event, 'error')
  t.match(JSON.parse(last.data!), { error: 'shutting_down', message: /Last-Event-ID/ })
})

t.test('a consumer that stops reading is cut off and memory stays bounded', async (t) => {
  const db = await testDatabase(t)
  const bound = 256 * 1024
  const slow = await startApp(t, {
    DATABASE_URL: db.url,
    SUBSCRIBER_BUFFER_BYTES: String(bound),
  })
  const socket = net.connect(slow.port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write('GET /events/stream?topic=live.slow HTTP/1.1\r\nHost: x\r\n\r\n')
  // read nothing: the socket's buffers fill, then the server's
  socket.pause()
  const cut = () => slow.logs.some((l) => /fell too far behind/.test(String(l.msg)))
  const payload = { content: 'x'.repeat(1000) }
  let published = 0
  let maxBuffered = 0
  const rss = process.memoryUsage().rss
  for (let i = 0; i < 40 && !cut(); i++) {
    const reply = await post(
      slow.url,
      '/publish',
      Array.from({ length: 1000 }, () => event({ topic: 'live.slow', payload })),
    )
    t.equal(reply.status, 200)
    published += 1000 * 1000
    maxBuffered = Math.max(maxBuffered, await metric('aggregator_stream_buffered_bytes', slow.url))
  }
  t.ok(cut(), `cut off after ${published} bytes of events`)
  // what this process holds for it: its bound, or one chunk uWebSockets.js kept (a page's frames)
  t.ok(maxBuffered <= 2 * bound, `at most ${maxBuffered} bytes buffered`)
  t.equal(await metric('aggregator_stream_subscribers', slow.url), 0, 'it is gone')
  t.comment(`RSS grew ${(process.memoryUsage().rss - rss) >> 20} MiB (client and server)`)
  // reading again, the client finds the reason at the end of what it was sent
  let text = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => (text = (text + chunk).slice(-4000)))
  socket.resume()
  await new Promise((resolve) => socket.once('end', resolve))
  t.match(text, /event: error\ndata: \{"error":"subscriber_too_slow","message":"[^"]+"\}\n\n/)
})
