/**
 * The feed across replicas: three aggregator processes store overlapping events while consumers
 * tail the feed through them, all topics and one topic; a commit in one process wakes a long
 * poll in another (LISTEN/NOTIFY).
 */
import t from 'tap'
import { startProcess } from './support/aggregator.js'
import { event, post } from './support/client.js'
import { consumer, follow, tail } from './support/consumer.js'
import { testDatabase } from './support/database.js'
import { overlappingBatches } from './support/overlap.js'

const db = await testDatabase(t)
const replicas = await Promise.all(
  ['a', 'b', 'c'].map((id) =>
    startProcess(t, { DATABASE_URL: db.url, INSTANCE_ID: `feed-${id}`, SHARDS: '2' }),
  ),
)

async function stored(topic: string | null): Promise<string[]> {
  const rows = await db.sql<{ event_id: string }[]>`
    SELECT event_id FROM events WHERE ${topic}::text IS NULL OR topic = ${topic}
    ORDER BY xid, seq`
  return rows.map((r) => r.event_id)
}

t.test('a commit in one replica wakes a long poll in another', async (t) => {
  const [a, b] = replicas
  const topic = 'feed.notify'
  const waiting = consumer()
  await follow(b!.url, waiting, { topic })
  const polling = follow(b!.url, waiting, { topic, wait: 60 })
  const sent = event({ topic })
  t.equal((await post(a!.url, '/publish?ack=durable', sent)).status, 200)
  t.same(await polling, [sent.event_id], 'answered with the event, not after 60 s of nothing')
})

t.test(
  'consumers tailing the feed while three replicas store overlapping events get each exactly once',
  async (t) => {
    const keys = Array.from({ length: 900 }, (_, i) => event({ topic: `feed.r.${i % 3}` }))
    const all = consumer()
    const one = consumer()
    const topic = 'feed.r.1'
    let published = false
    let expected = { all: Infinity, one: Infinity }
    const tailing = Promise.all([
      tail(replicas[0]!.url, all, () => published && all.received.length >= expected.all, {
        limit: 100,
      }),
      tail(replicas[1]!.url, one, () => published && one.received.length >= expected.one, {
        topic,
        limit: 50,
      }),
    ])
    // every replica gets every key, in its own shuffled order and batching, all at once
    const sends = replicas.flatMap((replica, r) =>
      overlappingBatches(keys, r).map((batch) => post(replica.url, '/publish', batch)),
    )
    const replies = await Promise.all(sends)
    t.ok(
      replies.every((r) => r.status === 200),
      `all ${replies.length} requests stored`,
    )
    const [storedAll, storedOne] = await Promise.all([stored(null), stored(topic)])
    t.equal(storedAll.length, 900 + 1, 'every key once, and the event of the test before')
    expected = { all: storedAll.length, one: storedOne.length }
    published = true
    await tailing
    t.same(all.received, storedAll, 'all topics: every stored event once, in the feed order')
    t.same(one.received, storedOne, `${topic}: every stored event of the topic once, in order`)
    t.same(await follow(replicas[2]!.url, all), [], 'and nothing after the last cursor')
  },
)
