/**
 * The client end to end against the app and a real PostgreSQL: what publish() stores,
 * subscribe() receives over `GET /events/stream` once each, and a new subscription from the
 * last cursor continues exactly where the first one stopped.
 */
import t from 'tap'
import { AggregatorClient, type PublishEvent, type StoredEvent } from '../client/index.js'
import { startApp } from './support/app.js'
import { event } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'

const db = await testDatabase(t)
const app = await startApp(t, { DATABASE_URL: db.url, SHARDS: '2' })
const client = new AggregatorClient({ url: app.url })
const topic = 'client.stream'
const batch = (n: number) => Array.from({ length: n }, () => event({ topic })) as PublishEvent[]

/** Follows the topic from `after` until `count` events arrived; returns them and the cursor. */
async function follow(after: string | undefined, count: number) {
  const seen: StoredEvent[] = []
  let reached!: () => void
  const enough = new Promise<void>((resolve) => (reached = resolve))
  const subscription = client.subscribe({ topic, after }, (stored) => {
    seen.push(stored)
    if (seen.length === count) reached()
  })
  return {
    seen,
    async until() {
      await enough
      await subscription.stop()
      await subscription.done
      return subscription.cursor
    },
  }
}

t.test(
  'a subscriber resuming from its cursor sees every published event exactly once',
  async (t) => {
    const first = await follow(undefined, 60)
    const published = batch(60)
    await client.publish(published)
    const cursor = await first.until()
    t.ok(cursor, 'the subscription hands out its cursor')

    const second = await follow(cursor, 40)
    const more = batch(40)
    await client.publish([...more, ...more.slice(0, 10)])
    await second.until()

    const ids = [...first.seen, ...second.seen].map((e) => e.event_id)
    t.equal(new Set(ids).size, 100, 'no event twice')
    t.equal(await storedEvents(db.sql, topic), 100, 'as many as are stored')
    const order = await db.sql<{ event_id: string }[]>`
    SELECT event_id FROM events WHERE topic = ${topic} ORDER BY xid, seq`
    t.same(
      ids,
      order.map((r) => r.event_id),
      'in the feed order',
    )
    t.same(new Set(first.seen.map((e) => e.event_id)), new Set(published.map((e) => e.event_id)))
  },
)
