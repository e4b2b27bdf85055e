/** A stream's frames and its bounded buffer, on a stand-in response whose writes can be refused. */
import t from 'tap'
import type { Cursor } from '../../src/feed/cursor.js'
import type { FeedEvent } from '../../src/feed/feed.js'
import { endFrame, eventFrames, SseStream } from '../../src/http/sse.js'
import { Exchange } from '../../src/http/respond.js'
import { FakeResponse } from './fake-response.js'

const events = (from: number, n: number, size = 10): FeedEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    cursor: `c${from + i}` as Cursor,
    json: JSON.stringify({ n: from + i, pad: 'x'.repeat(size) }),
  }))

function stream(bound = 1000) {
  const fake = new FakeResponse()
  const settled: (number | null)[] = []
  const ex = new Exchange(fake.res, (status) => settled.push(status))
  let cancelled = 0
  let tooSlow = 0
  const sse = new SseStream(ex, bound, () => tooSlow++)
  sse.start({ cancel: () => cancelled++ })
  return { fake, sse, settled, counts: () => ({ cancelled, tooSlow }) }
}

t.test('a stream answers 200 with a heartbeat, then one frame per event', async (t) => {
  const { fake, sse } = stream()
  t.equal(fake.status, '200 OK')
  t.equal(fake.header('Content-Type'), 'text/event-stream')
  t.same(fake.chunks, [': heartbeat\n\n'])
  sse.deliver(events(1, 2))
  t.equal(
    fake.chunks[1],
    'id: c1\nevent: event\ndata: {"n":1,"pad":"xxxxxxxxxx"}\n\n' +
      'id: c2\nevent: event\ndata: {"n":2,"pad":"xxxxxxxxxx"}\n\n',
  )
  t.ok(fake.allCorked, 'every write corked')
})

t.test('frames are built once per page and keep data on one line', async (t) => {
  const page: FeedEvent[] = [{ cursor: 'c1' as Cursor, json: '{"a":\r\n1,\n"b":2}' }]
  t.equal(eventFrames(page), 'id: c1\nevent: event\ndata: {"a": 1, "b":2}\n\n')
  t.equal(eventFrames(page), eventFrames(page))
})

t.test(
  'while the socket is full frames wait, and go out in one chunk once it drains',
  async (t) => {
    const { fake, sse } = stream()
    fake.writable = false
    sse.deliver(events(1, 1))
    t.ok(sse.buffered > 0, 'the refused chunk counts as buffered')
    sse.heartbeat()
    sse.deliver(events(2, 1))
    t.equal(fake.chunks.length, 2, 'nothing more written while refused')
    t.ok(fake.drained(), 'the queue is written when the socket drains')
    t.equal(fake.chunks.length, 3)
    t.match(fake.chunks[2], /^id: c2\n/)
    t.equal(sse.buffered, 0)
    fake.writable = false
    sse.deliver(events(3, 1))
    t.ok(fake.drained(), 'a drain with nothing queued is a success')
    t.equal(sse.buffered, 0)
  },
)

t.test('a drain that is refused again keeps the stream blocked', async (t) => {
  const { fake, sse } = stream()
  fake.writable = false
  sse.deliver(events(1, 1))
  sse.deliver(events(2, 1))
  const again = fake.chunks.length
  t.notOk(fake.drained(false), 'uWS is told the write failed')
  t.equal(fake.chunks.length, again + 1)
  t.ok(sse.buffered > 0)
})

t.test('a subscriber past its bound is told so and disconnected', async (t) => {
  const { fake, sse, settled, counts } = stream(500)
  fake.writable = false
  for (let i = 1; i <= 20 && fake.ends === 0; i++) sse.deliver(events(i, 1, 100))
  t.equal(fake.ends, 1)
  t.equal(fake.body, endFrame('subscriber_too_slow'))
  t.match(
    fake.body,
    /^event: error\ndata: \{"error":"subscriber_too_slow","message":"[^"\n]+"\}\n\n$/,
  )
  t.equal(fake.closed, true, 'the connection closes')
  t.same(counts(), { cancelled: 1, tooSlow: 1 })
  t.same(settled, [200])
  const written = fake.chunks.length
  sse.deliver(events(99, 1))
  sse.heartbeat()
  t.equal(fake.chunks.length, written, 'nothing after the end')
})

t.test('a client that leaves cancels its subscription', async (t) => {
  const { fake, sse, counts, settled } = stream()
  fake.clientAborts()
  t.same(counts(), { cancelled: 1, tooSlow: 0 })
  t.same(settled, [null])
  sse.deliver(events(1, 1))
  sse.end('shutting_down')
  t.equal(fake.chunks.length, 1, 'nothing written to a response that is gone')
  t.equal(fake.ends, 0)
})
