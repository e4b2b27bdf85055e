import { Agent, request } from 'node:http'
import t from 'tap'
import { startApp } from './support/app.js'
import { event, post, stats, waitForStats, type TestEvent } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'

const db = await testDatabase(t)
const { url } = await startApp(t, { DATABASE_URL: db.url, SHARDS: '3' })

t.test('1,000 identical events sent concurrently over many connections store one', async (t) => {
  const e = event({ topic: 'conc.same' })
  const agent = new Agent({ keepAlive: true, maxSockets: 200 })
  t.teardown(() => agent.destroy())
  const replies = await Promise.all(
    Array.from({ length: 1000 }, () => rawPost(url, JSON.stringify(e), agent)),
  )
  t.ok(
    replies.every((r) => r.status === 200),
    'every request is acknowledged',
  )
  t.equal(
    replies.reduce((n, r) => n + (r.body.unique as number), 0),
    1,
    'exactly one is unique',
  )
  t.equal(
    replies.reduce((n, r) => n + (r.body.duplicates as number), 0),
    999,
  )
  t.equal(await storedEvents(db.sql, 'conc.same'), 1)
})

t.test(
  'a \\u0000 or out-of-range request gets 422 while concurrent valid ones succeed',
  async (t) => {
    const good = Array.from({ length: 20 }, () => event({ topic: 'conc.good' }))
    const bad = [
      event({ topic: 'conc.bad', payload: { text: 'nul \u0000 inside' } }),
      event({ topic: 'conc.bad', timestamp: '+300000-01-01T00:00:00Z' }),
      event({ topic: 'conc.bad', event_id: 'id\u0000' }),
    ]
    const replies = await Promise.all([
      ...good.map((e) => post(url, '/publish', e)),
      ...bad.map((e) => post(url, '/publish', [event({ topic: 'conc.bad' }), e])),
    ])
    t.same(
      replies.map((r) => r.status),
      [...good.map(() => 200), ...bad.map(() => 422)],
    )
    t.equal(await storedEvents(db.sql, 'conc.good'), 20)
    t.equal(await storedEvents(db.sql, 'conc.bad'), 0, 'nothing of a rejected request is stored')
  },
)

t.test('the /stats invariant holds after a few thousand mixed events', async (t) => {
  const before = await stats(url)
  const unique: TestEvent[] = Array.from({ length: 3000 }, (_, i) =>
    event({ topic: `mix.${i % 7}` }),
  )
  const resent = unique.filter((_, i) => i % 4 === 0)
  const all = [...unique, ...resent].sort(() => Math.random() - 0.5)
  const batches: TestEvent[][] = []
  for (let i = 0; i < all.length; i += 37) batches.push(all.slice(i, i + 37))
  const replies = await Promise.all(
    batches.map((batch, i) => post(url, i % 3 === 0 ? '/publish?ack=async' : '/publish', batch)),
  )
  t.ok(replies.every((r) => r.status === 200 || r.status === 202))
  const after = await waitForStats(url, (s) => s.in_flight === 0)
  t.equal(after.in_flight, 0)
  t.equal(after.received - before.received, all.length)
  t.equal(after.unique_processed - before.unique_processed, unique.length)
  t.equal(after.duplicate_dropped - before.duplicate_dropped, resent.length)
  t.equal(after.received, after.unique_processed + after.duplicate_dropped)
  t.equal(after.unique_processed, await storedEvents(db.sql))
  const shardEvents = (s: typeof after) => s.shards.reduce((n, shard) => n + shard.events, 0)
  t.equal(shardEvents(after) - shardEvents(before), all.length, 'shards report every event')
})

/** node:http with an explicit pool, so the 1,000 requests really spread over many sockets. */
function rawPost(base: string, body: string, agent: Agent) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const req = request(
      new URL('/publish', base),
      { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = ''
        res.on('data', (c: Buffer) => (text += c.toString()))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(text) as Record<string, unknown>,
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}
