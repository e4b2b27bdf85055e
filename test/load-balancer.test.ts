/**
 * Three replicas (processes) on one PostgreSQL behind HAProxy with the shipped policy
 * (deploy/haproxy/haproxy.cfg), under load from clients that resend what was refused: one
 * replica is SIGKILLed and another SIGTERMed mid-run. Every acknowledged event is stored, the
 * global counts are exact, and clients see nothing but acknowledgements and retryable 503s.
 */
import t, { type Test } from 'tap'
import { spawnAggregator, type Aggregator } from './support/aggregator.js'
import { get, type StatsBody } from './support/client.js'
import { testDatabase } from './support/database.js'
import { findHaproxy, startHaproxy, type Haproxy } from './support/haproxy.js'
import { startLoad, type Load } from './support/load.js'

const HAPROXY = findHaproxy()
const skip =
  HAPROXY === null
    ? 'no haproxy on PATH or in /usr/sbin: install it with `apt-get install haproxy` (.ci/run does)'
    : false

/** Bounds every wait: a stuck phase fails the test instead of hanging it. */
const PHASE_MS = 60_000

t.test(
  'a SIGKILLed and a SIGTERMed replica behind HAProxy lose no acknowledged event and leave exact counts',
  { skip },
  async (t) => {
    const db = await testDatabase(t)
    const replicas = await Promise.all(
      [1, 2, 3].map((i) =>
        spawnAggregator({
          DATABASE_URL: db.url,
          INSTANCE_ID: `lb-${i}`,
          SHARDS: '2',
          // longer than HAProxy's two failed checks 500 ms apart, with room for a busy machine
          SHUTDOWN_DRAIN_MS: '4000',
        }),
      ),
    )
    // gracefully, so each child writes its coverage; SIGKILL only if one hangs
    t.teardown(async () => {
      const kill = setTimeout(() => replicas.forEach((r) => r.child.kill('SIGKILL')), 30_000)
      await Promise.all(replicas.map((r) => r.stop('SIGTERM')))
      clearTimeout(kill)
    })
    const [killed, stopped] = replicas as [Aggregator, Aggregator, Aggregator]
    const haproxy = await startHaproxy(
      t,
      HAPROXY!,
      replicas.map((r) => r.port),
    )
    await until(
      t,
      'all three replicas in rotation',
      async () => {
        const servers = [...(await haproxy.servers()).values()]
        return servers.length === 3 && servers.every((s) => s.status === 'UP')
      },
      () => checks(haproxy),
    )

    // small batches: a request fits HAProxy's buffer, so HAProxy itself can retry it
    const load = startLoad(haproxy.url, {
      concurrency: 6,
      batch: 20,
      topic: 'lb',
      resend: true,
      backoffMs: 20,
    })
    const acked = (n: number) => () => Promise.resolve(load.acked.length >= n)
    await until(t, '1000 events acknowledged by three replicas', acked(1000))

    killed.child.kill('SIGKILL')
    await until(
      t,
      'HAProxy marks the killed replica down',
      async () => (await haproxy.servers()).get('r1')?.status?.startsWith('DOWN'),
      () => checks(haproxy),
    )
    const afterKill = load.acked.length
    await until(t, '1000 more on the two left', acked(afterKill + 1000))

    stopped.child.kill('SIGTERM')
    await until(
      t,
      'HAProxy takes the SIGTERMed replica out of rotation',
      async () => (await haproxy.servers()).get('r2')?.status?.startsWith('DOWN'),
      () => checks(haproxy),
    )
    t.equal(await stopped.exited, 0, 'the SIGTERMed replica drains and exits 0')
    const afterStop = load.acked.length
    await until(t, '1000 more on the last one', acked(afterStop + 1000))
    await load.stop()

    const seen = statuses(load)
    t.comment(`client answers: ${JSON.stringify(seen)}`)
    t.same(
      Object.keys(seen).filter((s) => s !== '200' && s !== '503'),
      [],
      'clients saw acknowledgements and retryable 503s only: no 502, no reset',
    )
    const servers = await haproxy.servers()
    const r1 = servers.get('r1')!
    const r2 = servers.get('r2')!
    // a request in flight at the SIGKILL, or sent to r1 before its checks failed, found its
    // connection closed or refused: HAProxy sent it again to another replica (at least once)
    t.comment(
      `HAProxy on the killed replica: ${r1.eresp} responses lost, ${r1.econ} connections refused, ${r1.wretr} retries, ${r1.wredis} redispatches`,
    )
    t.comment(
      `HAProxy on the SIGTERMed replica: ${r2.hrsp_5xx} 5xx answers (503 shutting_down after the drain period), ${r2.wredis} redispatches`,
    )

    const ids = load.acked.map((e) => e.event_id)
    const [{ stored, total }] = (await db.sql<{ stored: number; total: number }[]>`
      SELECT count(*) FILTER (WHERE event_id = ANY(${ids}))::int AS stored,
             count(*)::int AS total
      FROM events WHERE topic = 'lb'`) as unknown as [{ stored: number; total: number }]
    t.equal(stored, ids.length, `all ${ids.length} acknowledged events are stored`)
    t.ok(total <= load.sent.length, 'nothing stored that was not sent')

    const stats = await statsWhenSettled(t, haproxy)
    t.equal(stats.unique_processed, total, '/stats through HAProxy counts what PostgreSQL holds')
    t.equal(stats.topic_counts.lb, total, 'and so does its topic count')
    // a resent request that a replica had committed before it died comes back as duplicates
    t.comment(`duplicates dropped: ${stats.duplicate_dropped}`)
  },
)

function statuses(load: Load): Record<string, number> {
  return Object.fromEntries([...load.statuses].map(([status, n]) => [String(status), n]))
}

async function statsWhenSettled(t: Test, haproxy: Haproxy): Promise<StatsBody> {
  let last: StatsBody | null = null
  await until(t, '/stats with nothing in flight', async () => {
    const reply = await get<StatsBody>(haproxy.url, '/stats')
    last = reply.body
    return reply.status === 200 && reply.body.in_flight === 0
  })
  return last!
}

/** What HAProxy's checks say of each replica, for a failure's message. */
async function checks(haproxy: Haproxy): Promise<string> {
  const servers = [...(await haproxy.servers()).values()]
  return servers.map((s) => `${s.svname}: ${s.status} ${s.check_status} ${s.check_desc}`).join('; ')
}

async function until(
  t: Test,
  what: string,
  done: () => Promise<boolean | undefined>,
  state: () => Promise<string> = () => Promise.resolve(''),
): Promise<void> {
  const deadline = Date.now() + PHASE_MS
  while (!(await done())) {
    if (Date.now() > deadline) {
      throw new Error(`not within ${PHASE_MS / 1000} s: ${what} ${await state()}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  t.pass(what)
}
