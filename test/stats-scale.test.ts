/**
 * `/stats` with many topics and many instances' counter rows: bounded answers with exact
 * totals, `/topics` for the full list, counter rows folded at start-up, and `/readyz` answering
 * while reads are slow.
 */
import t from 'tap'
import { startApp } from './support/app.js'
import { get, stats, type Reply } from './support/client.js'
import { testDatabase } from './support/database.js'

const TOPICS = 150
const db = await testDatabase(t)
// counter rows as three earlier instances (restarts under other host names) left them, two shards
await db.sql`
  INSERT INTO counters (instance, shard, topic, unique_processed, duplicate_dropped)
  SELECT 'old-' || i, s, 'scale.' || lpad(n::text, 3, '0'), n, 1
  FROM generate_series(1, 3) i, generate_series(0, 1) s, generate_series(1, ${TOPICS}) n`
const UNIQUE = 3 * 2 * ((TOPICS * (TOPICS + 1)) / 2)
const DUPLICATES = 3 * 2 * TOPICS
const app = await startApp(t, { DATABASE_URL: db.url, SHARDS: '2', INSTANCE_ID: 'live' })

t.test('start-up folds other instances’ rows into one row per shard and topic', async (t) => {
  const rows = await db.sql<{ instance: string; rows: number }[]>`
    SELECT instance, count(*)::int AS rows FROM counters GROUP BY instance`
  t.same(rows, [{ instance: '', rows: 2 * TOPICS }])
  const [sum] = await db.sql<{ u: string; d: string }[]>`
    SELECT sum(unique_processed)::text AS u, sum(duplicate_dropped)::text AS d FROM counters`
  t.same(sum, { u: String(UNIQUE), d: String(DUPLICATES) }, 'totals unchanged by the fold')
})

t.test(
  '/stats lists the 100 most active topics, with exact totals and the topic count',
  async (t) => {
    const s = await stats(app.url)
    t.equal(s.unique_processed, UNIQUE)
    t.equal(s.duplicate_dropped, DUPLICATES)
    t.equal(s.topic_count, TOPICS)
    t.equal(s.topics.length, 100)
    const expected = Array.from(
      { length: 100 },
      (_, i) => `scale.${String(TOPICS - 99 + i).padStart(3, '0')}`,
    )
    t.same(s.topics, expected, 'the most active ones, in name order')
    t.equal(s.topic_counts[`scale.${TOPICS}`], 6 * TOPICS)
  },
)

t.test('/topics pages through every topic with its counters', async (t) => {
  const seen: { topic: string; unique_processed: number; duplicate_dropped: number }[] = []
  let path: string | null = '/topics?limit=40'
  let pages = 0
  while (path !== null) {
    const reply: Reply<typeof seen> = await get<typeof seen>(app.url, path)
    t.equal(reply.status, 200)
    seen.push(...reply.body)
    pages++
    path = /^<([^>]+)>; rel="next"$/.exec(reply.headers.get('link') ?? '')?.[1] ?? null
  }
  t.equal(pages, 4)
  t.equal(seen.length, TOPICS)
  t.same(seen[0], { topic: 'scale.001', unique_processed: 6, duplicate_dropped: 6 })
  t.equal(
    seen.reduce((n, r) => n + r.unique_processed, 0),
    UNIQUE,
  )
  t.same(
    seen.map((r) => r.topic),
    seen.map((r) => r.topic).sort(),
  )
})

t.test(
  'a /topics cursor no topic could have is refused with 400, not sent to the database',
  async (t) => {
    const reply = await get<{ error: string }>(app.url, '/topics?after=%00')
    t.equal(reply.status, 400)
    t.equal(reply.body.error, 'invalid_query')
  },
)

t.test('/readyz answers 200 while /stats reads are stuck', async (t) => {
  // a lock held elsewhere makes every read of the counters wait
  const release = db.sql.begin(async (tx) => {
    await tx`LOCK TABLE counters IN ACCESS EXCLUSIVE MODE`
    await new Promise((resolve) => setTimeout(resolve, 3000))
  })
  await new Promise((resolve) => setTimeout(resolve, 200))
  const reads = Array.from({ length: 6 }, () => fetch(`${app.url}/stats`))
  await new Promise((resolve) => setTimeout(resolve, 100))
  const ready = await get(app.url, '/readyz')
  t.equal(ready.status, 200)
  t.match(ready.body, { status: 'ready', checks: { database: true } })
  await release
  for (const reply of await Promise.all(reads)) t.equal(reply.status, 200)
})
