/**
 * The most active topics over the dashboard's windows, counted from committed batches: the
 * windows slide by the second, the ranking is by events then name, and memory stays bounded.
 */
import t from 'tap'
import { TopicActivity } from '../../src/dashboard/topic-activity.js'
import type { BatchReport } from '../../src/pipeline/shard.js'
import { BatchFailed } from '../../src/pipeline/ticket.js'

const batch = (...parts: Record<string, number>[]): BatchReport => ({
  shard: 0,
  parts: parts.length,
  events: 0,
  unique: 0,
  duplicates: 0,
  ms: 1,
  attempts: 1,
  topics: parts.map((p) => new Map(Object.entries(p))),
})

const names = (rows: { topic: string }[]) => rows.map((r) => r.topic)

t.test('every part of a committed batch counts; a failed batch does not', async (t) => {
  const activity = new TopicActivity()
  activity.batch(batch({ a: 2, b: 1 }, { a: 3 }))
  activity.batch({ ...batch({ c: 100 }), failed: new BatchFailed({ cause: new Error('down') }) })
  t.same(activity.top(60, 10), [], 'nothing counts before its second ends')
  activity.tick()
  t.same(activity.top(60, 10), [
    { topic: 'a', events: 5, rate: 5 },
    { topic: 'b', events: 1, rate: 1 },
  ])
})

t.test(
  'a topic idle for longer than a window leaves it, and the rate is per second seen',
  async (t) => {
    const activity = new TopicActivity()
    activity.batch(batch({ old: 600 }))
    activity.tick()
    for (let second = 0; second < 119; second++) {
      activity.batch(batch({ steady: 2 }))
      activity.tick()
    }
    // 120 seconds seen: `old` was busy in the first only
    t.same(names(activity.top(60, 10)), ['steady'], 'gone from the last minute')
    t.same(activity.top(60, 10), [{ topic: 'steady', events: 120, rate: 2 }])
    t.same(activity.top(300, 10), [
      { topic: 'old', events: 600, rate: 5 },
      { topic: 'steady', events: 238, rate: 2 },
    ])
    t.same(activity.top(900, 1), [{ topic: 'old', events: 600, rate: 5 }], 'only the top n')
  },
)

t.test('the windows slide exactly: a second leaves each window after its length', async (t) => {
  const activity = new TopicActivity()
  activity.batch(batch({ x: 1 }))
  activity.tick()
  for (let i = 1; i < 60; i++) activity.tick()
  t.same(names(activity.top(60, 5)), ['x'], 'still in the last 60 s')
  activity.tick()
  t.same(names(activity.top(60, 5)), [], 'out once 60 more seconds ended')
  for (let i = 60; i < 300; i++) activity.tick()
  t.same(names(activity.top(300, 5)), [], 'out of 5 min after 300 s')
  t.same(names(activity.top(900, 5)), ['x'])
  for (let i = 300; i < 900; i++) activity.tick()
  t.same(names(activity.top(900, 5)), [], 'out of 15 min after 900 s')
})

t.test(
  'ties rank by name; with more topics than a second keeps, the busiest are kept',
  async (t) => {
    const activity = new TopicActivity()
    const many: Record<string, number> = {}
    for (let i = 0; i < 5000; i++) many[`t${String(i).padStart(4, '0')}`] = 1
    many['hot'] = 50
    many['warm'] = 7
    activity.batch(batch(many))
    activity.tick()
    t.same(names(activity.top(60, 4)), ['hot', 'warm', 't0000', 't0001'])
    // each second keeps its 100 busiest: 900 seconds of 5000 topics stay bounded
    for (let i = 0; i < 900; i++) {
      activity.batch(batch(many))
      activity.tick()
    }
    const top = activity.top(900, 200)
    t.equal(top.length, 100, 'at most the 100 kept a second, whatever the topics')
    t.same(top[0], { topic: 'hot', events: 45000, rate: 50 })
  },
)
