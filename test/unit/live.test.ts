/**
 * The dashboard's feed (LiveStats) on a fake clock, with its feed functions injected: the pace,
 * the sharing between viewers and the behaviour with a slow or failing store, in-process.
 */
import { mock } from 'node:test'
import t, { type Test } from 'tap'
import {
  LiveStats,
  type LiveFeed,
  type LiveMessage,
  type LiveSnapshot,
} from '../../src/dashboard/live.js'
import type { ShardStats } from '../../src/pipeline/shard.js'
import type { Stats } from '../../src/stats/stats.js'

/** A feed whose snapshot queries are answered by hand, and which records what it published. */
class FakeFeed implements LiveFeed {
  viewing = 1
  /** What the shards report now: a worker that is down shows in an outage message. */
  shards: ShardStats[] = []
  readonly published: LiveMessage[] = []
  readonly failures: unknown[] = []
  private readonly queries: { resolve(s: Stats): void; reject(e: unknown): void }[] = []
  queried = 0

  snapshot(): Promise<Stats> {
    this.queried++
    return new Promise((resolve, reject) => this.queries.push({ resolve, reject }))
  }
  workers(): ShardStats[] {
    return this.shards
  }
  publish(message: string): void {
    this.published.push(JSON.parse(message) as LiveMessage)
  }
  viewers(): number {
    return this.viewing
  }
  failed(error: unknown): void {
    this.failures.push(error)
  }
  /** Answers the oldest open query, then lets its callbacks run. */
  async answer(stats: Stats = STATS): Promise<void> {
    this.queries.shift()!.resolve(stats)
    await settle()
  }
  async fail(error: Error): Promise<void> {
    this.queries.shift()!.reject(error)
    await settle()
  }
  get open(): number {
    return this.queries.length
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

const STATS: Stats = {
  received: 60,
  unique_processed: 50,
  duplicate_dropped: 10,
  rejected: 2,
  rejected_events: 2,
  failed: 0,
  in_flight: 0,
  topics: Array.from({ length: 12 }, (_, i) => `topic.${String(i).padStart(2, '0')}`),
  topic_counts: Object.fromEntries(
    Array.from({ length: 12 }, (_, i) => [`topic.${String(i).padStart(2, '0')}`, i % 4]),
  ),
  topic_count: 12,
  uptime: 7,
  started_at: '2025-10-21T10:00:00.000Z',
  shards: [],
}

t.beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 }))
t.afterEach(() => mock.timers.reset())

function started(t: Test, feed: FakeFeed): LiveStats {
  const live = new LiveStats(feed)
  live.start()
  t.teardown(() => live.stop())
  return live
}

t.test('one query a second, published once for all viewers', async (t) => {
  const feed = new FakeFeed()
  feed.viewing = 3
  started(t, feed)
  for (let second = 1; second <= 3; second++) {
    mock.timers.tick(1000)
    t.equal(feed.queried, second, `one query after ${second} s, whatever the viewers`)
    await feed.answer()
  }
  t.equal(feed.published.length, 3, 'each snapshot published once, to the topic')
  t.same(
    feed.published.map((s) => s.at),
    [1_001_000, 1_002_000, 1_003_000],
    'stamped with the server clock when taken',
  )
})

t.test('a snapshot carries the counts, the topic count and the top ten topics', async (t) => {
  const feed = new FakeFeed()
  started(t, feed)
  mock.timers.tick(1000)
  await feed.answer()
  const [snapshot] = feed.published as LiveSnapshot[]
  t.match(snapshot, {
    database: 'up',
    received: 60,
    unique_processed: 50,
    rejected: 2,
    topic_count: 12,
  })
  t.notOk('topics' in snapshot! || 'topic_counts' in snapshot!, 'not the full topic lists')
  t.same(
    snapshot!.top_topics.map((x) => [x.topic, x.count]),
    [
      ['topic.03', 3],
      ['topic.07', 3],
      ['topic.11', 3],
      ['topic.02', 2],
      ['topic.06', 2],
      ['topic.10', 2],
      ['topic.01', 1],
      ['topic.05', 1],
      ['topic.09', 1],
      ['topic.00', 0],
    ],
    'by count, then by name',
  )
})

t.test('with no viewer, no query runs', async (t) => {
  const feed = new FakeFeed()
  feed.viewing = 0
  started(t, feed)
  mock.timers.tick(5000)
  t.equal(feed.queried, 0)
  t.same(feed.published, [])
})

t.test(
  'a new viewer is welcomed at once: with a fresh query, then the last broadcast',
  async (t) => {
    const feed = new FakeFeed()
    const live = started(t, feed)
    const sent: string[] = []
    live.welcome((message) => sent.push(message))
    t.equal(feed.queried, 1, 'nothing broadcast yet: a query now, without waiting for the beat')
    await feed.answer()
    t.equal(feed.published.length, 1, 'its answer goes to every viewer, the newcomer included')
    live.welcome((message) => sent.push(message))
    t.equal(feed.queried, 1, 'the next newcomer gets the cached broadcast, no query')
    t.same(
      sent.map((m) => (JSON.parse(m) as LiveMessage).at),
      [feed.published[0]!.at],
    )
  },
)

t.test('once nobody watches, the cached broadcast is dropped', async (t) => {
  const feed = new FakeFeed()
  const live = started(t, feed)
  mock.timers.tick(1000)
  await feed.answer()
  feed.viewing = 0
  mock.timers.tick(1000)
  feed.viewing = 1
  live.welcome(() => t.fail('no stale snapshot for a newcomer'))
  t.equal(feed.queried, 2, 'the newcomer gets a fresh query instead')
})

t.test('a slow query skips beats instead of stacking queries', async (t) => {
  const feed = new FakeFeed()
  started(t, feed)
  mock.timers.tick(1000)
  mock.timers.tick(1000)
  mock.timers.tick(1000)
  t.equal(feed.open, 1, 'one query at a time')
  await feed.answer()
  mock.timers.tick(1000)
  t.equal(feed.queried, 2, 'the next beat queries again')
})

t.test('a failed query is reported, and the next beat tries again', async (t) => {
  const feed = new FakeFeed()
  started(t, feed)
  mock.timers.tick(1000)
  await feed.fail(new Error('store down'))
  t.match(feed.failures, [{ message: 'store down' }])
  mock.timers.tick(1000)
  t.equal(feed.queried, 2)
})

const SHARD: ShardStats = {
  shard: 0,
  worker_up: false,
  queue_depth: 7,
  batching: 0,
  batches: 3,
  events: 30,
  stored: 25,
  duplicates: 5,
  failed_batches: 1,
  failed_events: 2,
  last_batch_ms: 4,
}

t.test(
  'a failed query is published as an outage: the last good figures, their time, the workers now',
  async (t) => {
    const feed = new FakeFeed()
    started(t, feed)
    mock.timers.tick(1000)
    await feed.answer()
    feed.shards = [SHARD]
    mock.timers.tick(1000)
    await feed.fail(new Error('store down'))
    mock.timers.tick(1000)
    await feed.fail(new Error('store down'))
    t.same(
      feed.published.map((m) => [m.database, m.at]),
      [
        ['up', 1_001_000],
        ['down', 1_002_000],
        ['down', 1_003_000],
      ],
      'a message every beat, saying the database is down',
    )
    const outage = feed.published[2]!
    if (outage.database !== 'down') throw new Error('not an outage message')
    t.match(outage.last, { at: 1_001_000, received: 60, database: 'up' }, 'the last good figures')
    t.same(outage.shards, [SHARD], 'the workers as the shards report them now, not as they were')
    feed.shards = []
    mock.timers.tick(1000)
    await feed.answer()
    t.match(feed.published[3], { database: 'up', at: 1_004_000 }, 'back by itself')
  },
)

t.test('an outage before any good snapshot has no figures to show', async (t) => {
  const feed = new FakeFeed()
  const live = started(t, feed)
  mock.timers.tick(1000)
  await feed.fail(new Error('store down'))
  t.match(feed.published, [{ database: 'down', last: null }])
  const sent: string[] = []
  live.welcome((message) => sent.push(message))
  t.match(
    sent.map((m) => JSON.parse(m) as LiveMessage),
    [{ database: 'down' }],
    'a newcomer is told at once',
  )
})

t.test('a query unanswered for three seconds is an outage, without a second query', async (t) => {
  const feed = new FakeFeed()
  started(t, feed)
  mock.timers.tick(1000)
  mock.timers.tick(1000)
  mock.timers.tick(1000)
  t.same(feed.published, [], 'a slow answer is waited for')
  mock.timers.tick(1000)
  mock.timers.tick(1000)
  t.same(
    feed.published.map((m) => [m.database, m.at]),
    [
      ['down', 1_004_000],
      ['down', 1_005_000],
    ],
  )
  t.equal(feed.open, 1, 'still one query in progress')
  await feed.answer()
  t.match(feed.published.at(-1), { database: 'up' })
})

t.test('after stop, no beat runs and a late answer is not published', async (t) => {
  const feed = new FakeFeed()
  const live = started(t, feed)
  mock.timers.tick(1000)
  live.stop()
  await feed.answer()
  mock.timers.tick(5000)
  t.equal(feed.queried, 1)
  t.same(feed.published, [])
})
