/**
 * The dashboard's feed (LiveStats) on a fake clock, with its feed functions injected: the pace,
 * the sharing between viewers, the history a viewer gets on joining, the pulse of this process's
 * vitals, and the behaviour with a slow or failing store, in-process.
 */
import { mock } from 'node:test'
import t, { type Test } from 'tap'
import {
  LiveStats,
  type LiveFeed,
  type LiveHistory,
  type LiveMessage,
  type LiveOutage,
  type LiveSnapshot,
} from '../../src/dashboard/live.js'
import { TopicActivity } from '../../src/dashboard/topic-activity.js'
import type { BatchReport, ShardStats } from '../../src/pipeline/shard.js'
import type { TopicCounts } from '../../src/read-model.js'
import type { Stats } from '../../src/stats/stats.js'
import type { Vitals } from '../../src/stats/vitals.js'

const BOUNDS = [0.001, 0.01, 0.1, Infinity]

const VITALS: Vitals = {
  accepted: 0,
  stored: 0,
  duplicates: 0,
  failed: 0,
  errors: new Map(),
  request: { bounds: BOUNDS, counts: [0, 0, 0, 0] },
  commit: { bounds: BOUNDS, counts: [0, 0, 0, 0] },
  inFlight: 0,
  queued: 0,
  queueMax: 1000,
  heldBytes: 0,
  heldMaxBytes: 4096,
}

/** A feed whose snapshot queries are answered by hand, and which records what it published. */
class FakeFeed implements LiveFeed {
  viewing = 1
  /** What the shards report now: a worker that is down shows in an outage message. */
  shards: ShardStats[] = []
  /** What the process counts now; a test moves it on between beats. */
  vitalsNow: Vitals | Error = VITALS
  readonly activity = new TopicActivity()
  readonly messages: LiveMessage[] = []
  readonly failures: unknown[] = []
  readonly totalsAsked: string[][] = []
  private readonly queries: { resolve(s: Stats): void; reject(e: unknown): void }[] = []
  queried = 0

  snapshot(): Promise<Stats> {
    this.queried++
    return new Promise((resolve, reject) => this.queries.push({ resolve, reject }))
  }
  totals(topics: string[]): Promise<TopicCounts[]> {
    this.totalsAsked.push(topics)
    return Promise.resolve(topics.map((topic) => ({ topic, unique: 1000, duplicates: 0 })))
  }
  vitals(): Promise<Vitals> {
    const now = this.vitalsNow
    return now instanceof Error ? Promise.reject(now) : Promise.resolve(now)
  }
  workers(): ShardStats[] {
    return this.shards
  }
  publish(message: string): void {
    this.messages.push(JSON.parse(message) as LiveMessage)
  }
  viewers(): number {
    return this.viewing
  }
  failed(error: unknown): void {
    this.failures.push(error)
  }
  /** What was published to every viewer (the history goes to one viewer, as it joins). */
  get published(): (LiveSnapshot | LiveOutage)[] {
    return this.messages.filter((m): m is LiveSnapshot | LiveOutage => !('history' in m))
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
  topics: ['a'],
  topic_counts: { a: 50 },
  topic_count: 12,
  uptime: 7,
  started_at: '2025-10-21T10:00:00.000Z',
  shards: [],
}

const committed = (topics: Record<string, number>): BatchReport => ({
  shard: 0,
  parts: 1,
  events: Object.values(topics).reduce((a, b) => a + b, 0),
  unique: 0,
  duplicates: 0,
  ms: 1,
  attempts: 1,
  topics: [new Map(Object.entries(topics))],
})

t.beforeEach(() => mock.timers.enable({ apis: ['setInterval', 'Date'], now: 1_000_000 }))
t.afterEach(() => mock.timers.reset())

function started(t: Test, feed: FakeFeed): LiveStats {
  const live = new LiveStats(feed)
  live.start()
  t.teardown(() => live.stop())
  return live
}

/** What a viewer joining now is sent, parsed. */
async function join(live: LiveStats): Promise<LiveMessage[]> {
  const sent: string[] = []
  live.welcome((message) => sent.push(message))
  await settle()
  return sent.map((m) => JSON.parse(m) as LiveMessage)
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

t.test(
  'a snapshot carries the counts, the pulse, and the active topics with their all-time counts',
  async (t) => {
    const feed = new FakeFeed()
    started(t, feed)
    await settle()
    feed.activity.batch(committed({ busy: 30, quiet: 3 }))
    mock.timers.tick(1000)
    await feed.answer()
    const [snapshot] = feed.published as LiveSnapshot[]
    t.match(snapshot, {
      database: 'up',
      database_ms: 0,
      received: 60,
      unique_processed: 50,
      rejected: 2,
      topic_count: 12,
      pulses: [{ at: 1_001_000 }],
    })
    t.notOk('topics' in snapshot! || 'topic_counts' in snapshot!, 'not the full topic lists')
    t.same(feed.totalsAsked, [['busy', 'quiet']], 'all-time counts asked for the active topics')
    t.same(
      snapshot!.active['60'],
      [
        { topic: 'busy', events: 30, rate: 30, total: 1000 },
        { topic: 'quiet', events: 3, rate: 3, total: 1000 },
      ],
      'busiest first, each with its rate and all-time count',
    )
    t.same(Object.keys(snapshot!.active), ['60', '300', '900'], 'one list per window')
  },
)

t.test('a pulse has rates from the vitals, levels as they stand, latency quantiles', async (t) => {
  const feed = new FakeFeed()
  started(t, feed)
  mock.timers.tick(1000)
  await feed.answer()
  feed.vitalsNow = {
    ...VITALS,
    accepted: 120,
    stored: 100,
    duplicates: 20,
    errors: new Map([
      ['validation', 4],
      ['queue_full', 2],
    ]),
    request: { bounds: BOUNDS, counts: [0, 100, 100, 100] },
    commit: { bounds: BOUNDS, counts: [10, 10, 10, 10] },
    inFlight: 700,
    queued: 500,
    heldBytes: 2048,
  }
  mock.timers.tick(1000)
  await feed.answer()
  t.same(feed.published[1]!.pulses, [
    {
      at: 1_002_000,
      received: 120,
      unique: 100,
      duplicates: 20,
      failed: 0,
      errors: { '422 validation': 4, '503 queue_full': 2 },
      request_p50: 5.5,
      request_p99: 9.9,
      commit_p50: 0.5,
      commit_p99: 1,
      in_flight: 700,
      queued: 500,
      queue_max: 1000,
      held_bytes: 2048,
      held_max_bytes: 4096,
    },
  ])
  feed.vitalsNow = { ...feed.vitalsNow, inFlight: 0 }
  mock.timers.tick(1000)
  await feed.answer()
  t.match(
    feed.published[2]!.pulses[0],
    { received: 0, in_flight: 0, errors: {}, request_p50: null, commit_p99: null },
    'a quiet second: no rates, no latency; in flight falls as a level, not a negative rate',
  )
})

t.test(
  'with no viewer no query runs, yet the pulses are kept: a joining viewer gets them first',
  async (t) => {
    const feed = new FakeFeed()
    feed.viewing = 0
    const live = started(t, feed)
    for (let i = 0; i < 5; i++) {
      mock.timers.tick(1000)
      await settle()
    }
    t.equal(feed.queried, 0)
    t.same(feed.messages, [])
    feed.viewing = 1
    const [history, ...rest] = await join(live)
    t.same(
      (history as LiveHistory).history.map((p) => p.at),
      [1_001_000, 1_002_000, 1_003_000, 1_004_000, 1_005_000],
      'five seconds of history, oldest first',
    )
    t.same(rest, [], 'the figures follow once the query is answered')
    t.equal(feed.queried, 1)
  },
)

t.test('the history holds the last fifteen minutes, no more', async (t) => {
  const feed = new FakeFeed()
  feed.viewing = 0
  const live = started(t, feed)
  for (let i = 0; i < 1000; i++) mock.timers.tick(1000)
  await settle()
  const [history] = (await join(live)) as [LiveHistory]
  t.equal(history.history.length, 900)
  t.equal(history.history[0]!.at, 1_000_000 + 101 * 1000, 'the oldest seconds dropped')
  t.equal(history.history.at(-1)!.at, 1_000_000 + 1000 * 1000)
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
    const got = sent.map((m) => JSON.parse(m) as LiveMessage)
    t.same(
      got.map((m) => ('history' in m ? 'history' : m.at)),
      ['history', 'history', feed.published[0]!.at],
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
  const sent: string[] = []
  live.welcome((message) => sent.push(message))
  t.equal(sent.length, 1, 'the history only: no stale snapshot for a newcomer')
  t.equal(feed.queried, 2, 'the newcomer gets a fresh query instead')
})

t.test('a slow query skips beats instead of stacking queries, and loses no pulse', async (t) => {
  const feed = new FakeFeed()
  started(t, feed)
  mock.timers.tick(1000)
  mock.timers.tick(1000)
  mock.timers.tick(1000)
  t.equal(feed.open, 1, 'one query at a time')
  await feed.answer()
  mock.timers.tick(1000)
  t.equal(feed.queried, 2, 'the next beat queries again')
  await feed.answer()
  t.same(
    feed.published.flatMap((m) => m.pulses.map((p) => p.at)),
    [1_001_000, 1_002_000, 1_003_000, 1_004_000],
    'every second is published once: the skipped ones with the next message',
  )
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
    feed.activity.batch(committed({ busy: 5 }))
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
    t.same(
      outage.pulses.map((p) => p.at),
      [1_003_000],
      'the pulses go on: they need no database',
    )
    t.same(
      outage.active['60'],
      [{ topic: 'busy', events: 5, rate: 1.7, total: null }],
      'the active topics too (5 events over the 3 s seen), without their all-time counts',
    )
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
  t.match((await join(live)).slice(1), [{ database: 'down' }], 'a newcomer is told at once')
})

t.test('a query unanswered for three seconds is an outage, without a second query', async (t) => {
  const feed = new FakeFeed()
  started(t, feed)
  mock.timers.tick(1000)
  mock.timers.tick(1000)
  mock.timers.tick(1000)
  await settle()
  t.same(feed.published, [], 'a slow answer is waited for')
  mock.timers.tick(1000)
  await settle()
  mock.timers.tick(1000)
  await settle()
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

t.test('vitals that cannot be read are reported, and that second is left out', async (t) => {
  const feed = new FakeFeed()
  started(t, feed)
  await settle()
  feed.vitalsNow = new Error('no vitals')
  mock.timers.tick(1000)
  await feed.answer()
  t.match(feed.failures, [{ message: 'no vitals' }])
  t.match(feed.published, [{ database: 'up', pulses: [] }], 'the figures still go out')
  feed.vitalsNow = { ...VITALS, accepted: 10 }
  mock.timers.tick(1000)
  await feed.answer()
  t.match(
    feed.published[1]!.pulses,
    [{ at: 1_002_000, received: 5 }],
    'the next second is measured from the last good sample',
  )
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
