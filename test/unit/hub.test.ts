/**
 * The hub's grouping and catch-up on a feed held in memory: who reads what, and that every
 * subscriber gets each event once, in order, whichever way it joined.
 */
import t, { type Test } from 'tap'
import type { CommitSignal } from '../../src/feed/commits.js'
import type { Cursor } from '../../src/feed/cursor.js'
import type { FeedEvent, FeedQuery, ReadFeed } from '../../src/feed/feed.js'
import { Hub, type HubOptions, type Sink, type StreamEnd } from '../../src/feed/hub.js'

const cursor = (n: number) => `c${n}` as Cursor
const START = cursor(0)

/** A feed of events `c1…cN` (topic `a` or `b`), read `limit` at a time; it logs each read. */
class MemoryFeed {
  readonly events: { n: number; topic: string }[] = []
  readonly reads: FeedQuery[] = []
  failNext = false
  /** Events from this one on are committed but held back behind an older transaction. */
  heldFrom = Infinity
  /** Runs before the next read from this cursor: events committed meanwhile. */
  before = new Map<string, () => void>()

  add(count: number, topic = 'a'): void {
    for (let i = 0; i < count; i++) this.events.push({ n: this.events.length + 1, topic })
  }

  read: ReadFeed = (query) => {
    this.reads.push(query)
    this.before.get(query.after)?.()
    this.before.delete(query.after)
    if (this.failNext) {
      this.failNext = false
      return Promise.reject(new Error('the database is away'))
    }
    const after = Number(query.after.slice(1))
    const following = this.events.filter(
      (e) => e.n > after && (query.topic === null || e.topic === query.topic),
    )
    const matching = following.filter((e) => e.n < this.heldFrom)
    const held = matching.length < following.length
    const events: FeedEvent[] = matching
      .slice(0, query.limit)
      .map((e) => ({ cursor: cursor(e.n), json: `{"n":${e.n}}` }))
    return Promise.resolve({
      events,
      next: events.at(-1)?.cursor ?? query.after,
      more: matching.length > query.limit || held,
      held,
    })
  }
}

class Signal implements CommitSignal {
  listeners = new Set<() => void>()
  subscribe(listener: () => void) {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
  commit() {
    for (const listener of this.listeners) listener()
  }
}

class Recorder implements Sink {
  received: string[] = []
  beats = 0
  ended: StreamEnd | null = null
  buffered = 0
  deliver(events: readonly FeedEvent[]) {
    this.received.push(...events.map((e) => e.cursor))
  }
  heartbeat() {
    this.beats++
  }
  end(reason: StreamEnd) {
    this.ended = reason
  }
}

/** Lets every pending read and delivery run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 5))
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => cursor(from + i))

function hub(t: Test, options: Partial<HubOptions> = {}) {
  const feed = new MemoryFeed()
  const signal = new Signal()
  const failures: unknown[] = []
  const h = new Hub(feed.read, signal, {
    pageEvents: 10,
    pageBytes: 1 << 20,
    heartbeatMs: 60_000,
    readIntervalMs: 0,
    max: 100,
    failed: (error) => failures.push(error),
    ...options,
  })
  t.teardown(() => h.close())
  return { feed, signal, hub: h, failures }
}

t.test('subscribers to one topic share one read per wake-up', async (t) => {
  const { feed, signal, hub: h } = hub(t)
  const sinks = Array.from({ length: 50 }, () => new Recorder())
  for (const sink of sinks) h.subscribe('a', START, sink)
  await settle()
  const before = feed.reads.length
  feed.add(5)
  feed.add(2, 'b')
  signal.commit()
  await settle()
  t.equal(feed.reads.length - before, 1, 'one read for fifty subscribers')
  for (const sink of sinks) t.same(sink.received, range(1, 5))
  t.same(h.counts, { subscribers: 50, reads: feed.reads.length, bufferedBytes: 0 })
})

t.test('commit signals in quick succession cost a group one read per interval', async (t) => {
  const { feed, signal, hub: h } = hub(t, { readIntervalMs: 100 })
  const sink = new Recorder()
  const started = performance.now()
  h.subscribe('a', START, sink)
  await settle()
  for (let i = 1; i <= 20; i++) {
    feed.add(1)
    signal.commit()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  for (let i = 0; i < 200 && sink.received.length < 20; i++) await settle()
  t.same(sink.received, range(1, 20), 'every event, once, in order')
  const intervals = Math.ceil((performance.now() - started) / 100)
  t.ok(feed.reads.length <= intervals + 1, `${feed.reads.length} reads in ${intervals} intervals`)
})

t.test('a subscriber behind catches up on its own reads, then joins the tail', async (t) => {
  const { feed, signal, hub: h } = hub(t)
  feed.add(35)
  const live = new Recorder()
  h.subscribe('a', cursor(35), live)
  await settle()
  const late = new Recorder()
  h.subscribe('a', cursor(3), late)
  await settle()
  t.same(late.received, range(4, 35), 'caught up a page at a time')
  feed.add(4)
  signal.commit()
  await settle()
  const before = feed.reads.length
  feed.add(1)
  signal.commit()
  await settle()
  t.equal(feed.reads.length - before, 1, 'joined: no read of its own any more')
  t.same(late.received, range(4, 40))
  t.same(live.received, range(36, 40))
})

t.test('a catch-up read that passes the tail joins there, nothing twice', async (t) => {
  const { feed, signal, hub: h } = hub(t)
  feed.add(5)
  const live = new Recorder()
  h.subscribe('a', cursor(5), live)
  await settle()
  // between the group's read and the late subscriber's, two more events commit
  feed.before.set(cursor(1), () => feed.add(2))
  const late = new Recorder()
  h.subscribe('a', cursor(1), late)
  await settle()
  t.same(late.received, range(2, 5), 'up to the tail, where it joins')
  signal.commit()
  await settle()
  t.same(late.received, range(2, 7))
  t.same(live.received, range(6, 7))
})

t.test('a subscriber ahead of the tail joins where the group reaches it', async (t) => {
  const { feed, signal, hub: h } = hub(t, { pageEvents: 5 })
  feed.add(8)
  const slow = new Recorder()
  h.subscribe('a', START, slow)
  const ahead = new Recorder()
  h.subscribe('a', cursor(7), ahead)
  await settle()
  feed.add(3)
  signal.commit()
  await settle()
  t.same(slow.received, range(1, 11))
  t.same(ahead.received, range(8, 11), 'nothing before its cursor, nothing twice')
})

t.test('topics are separate groups; all topics is one more', async (t) => {
  const { feed, signal, hub: h } = hub(t)
  const a = new Recorder()
  const b = new Recorder()
  const all = new Recorder()
  h.subscribe('a', START, a)
  h.subscribe('b', START, b)
  h.subscribe(null, START, all)
  feed.add(2, 'a')
  feed.add(1, 'b')
  signal.commit()
  await settle()
  t.same(a.received, range(1, 2))
  t.same(b.received, [cursor(3)])
  t.same(all.received, range(1, 3))
})

t.test('beyond max a subscriber is refused; one that leaves frees its place', async (t) => {
  const { hub: h } = hub(t, { max: 2 })
  const first = h.subscribe('a', START, new Recorder())
  t.ok(h.subscribe('b', START, new Recorder()))
  t.equal(h.subscribe('a', START, new Recorder()), null)
  first!.cancel()
  first!.cancel()
  t.equal(h.counts.subscribers, 1, 'cancel is idempotent')
  t.ok(h.subscribe('a', START, new Recorder()))
})

t.test('heartbeats reach every subscriber and read the feed', async (t) => {
  const { feed, hub: h } = hub(t, { heartbeatMs: 10 })
  const sink = new Recorder()
  h.subscribe('a', START, sink)
  feed.add(2)
  // no commit signal: the heartbeat's read finds the events
  for (let i = 0; i < 100 && sink.received.length < 2; i++) await settle()
  t.ok(sink.beats > 0)
  t.same(sink.received, range(1, 2))
})

t.test('events held back are read again without a signal, and reads never wait', async (t) => {
  const { feed, signal, hub: h } = hub(t)
  const sink = new Recorder()
  h.subscribe('a', START, sink)
  await settle()
  feed.add(3)
  feed.heldFrom = 2
  signal.commit()
  await settle()
  t.same(sink.received, range(1, 1), 'what is readable, at once')
  // the older transaction ends without announcing anything; no heartbeat for a minute
  const reads = feed.reads.length
  feed.heldFrom = Infinity
  for (let i = 0; i < 200 && sink.received.length < 3; i++) await settle()
  t.same(sink.received, range(1, 3), 'the rest once readable, each once')
  t.ok(feed.reads.length > reads, 'read again on its own')
  t.ok(
    feed.reads.every((q) => q.settleMs === 0),
    'no read waits for older transactions',
  )
})

t.test('a failed read is reported and tried again on the next wake-up', async (t) => {
  const { feed, signal, hub: h, failures } = hub(t)
  const sink = new Recorder()
  feed.failNext = true
  h.subscribe('a', START, sink)
  await settle()
  t.equal(failures.length, 1)
  feed.add(1)
  signal.commit()
  await settle()
  t.same(sink.received, [cursor(1)])
})

t.test('close ends every stream with shutting_down and takes no one after', async (t) => {
  const { hub: h } = hub(t)
  const sinks = [new Recorder(), new Recorder()]
  h.subscribe('a', START, sinks[0]!)
  h.subscribe(null, START, sinks[1]!)
  h.close()
  t.same(
    sinks.map((s) => s.ended),
    ['shutting_down', 'shutting_down'],
  )
  t.equal(h.subscribe('a', START, new Recorder()), null)
  t.equal(h.counts.subscribers, 0)
})
