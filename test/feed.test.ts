import t from 'tap'
import { FEED_ALL_TOPICS, FEED_ONE_TOPIC } from '../src/db/feed.js'
import { cursorAt, parseCursor, positionOf, START } from '../src/feed/cursor.js'
import { startApp } from './support/app.js'
import { event, get, post } from './support/client.js'
import { testDatabase } from './support/database.js'

const db = await testDatabase(t)
const app = await startApp(t, { DATABASE_URL: db.url, SHARDS: '2' })
const { url } = app

const cursorOf = (res: { headers: Headers }) => res.headers.get('x-next-cursor')

t.test('a cursor is opaque, canonical, and round-trips its position', async (t) => {
  const cursor = cursorAt({ xid: '18446744073709551615', seq: '42' })
  t.same(positionOf(cursor), { xid: '18446744073709551615', seq: '42' })
  t.equal(parseCursor(cursor), cursor)
  t.equal(parseCursor('0'), START, 'the old numeric start still means the start')
  for (const text of ['', '1', '17', 'not-a-cursor', `${cursor}A`, cursor.slice(1), `${cursor}=`]) {
    t.equal(parseCursor(text), undefined, JSON.stringify(text))
  }
})

t.test(
  'a malformed cursor is 400 invalid_cursor; an old numeric one says cursors changed',
  async (t) => {
    const numeric = await get(url, '/events?after=17')
    t.equal(numeric.status, 400)
    t.match(numeric.body, { error: 'invalid_cursor', message: /sequence number: cursors changed/ })
    for (const after of ['-1', 'abc', 'AAAA']) {
      const reply = await get(url, `/events?after=${after}`)
      t.equal(reply.status, 400, after)
      t.match(reply.body, { error: 'invalid_cursor', message: /not a cursor this server gave out/ })
    }
    const start = await get<unknown[]>(url, '/events?after=0&topic=feed.none')
    t.equal(start.status, 200, 'after=0 is the start')
    t.equal(cursorOf(start), START)
  },
)

t.test('every answer carries X-Next-Cursor; an empty page carries the one asked for', async (t) => {
  const topic = 'feed.cursor'
  const sent = [event({ topic }), event({ topic }), event({ topic })]
  t.equal((await post(url, '/publish?ack=durable', sent)).status, 200)
  const first = await get<{ event_id: string }[]>(url, `/events?topic=${topic}&limit=2`)
  t.equal(first.body.length, 2)
  t.match(first.headers.get('link'), /rel="next"/, 'a full page links the next')
  const second = await get<{ event_id: string }[]>(
    url,
    `/events?topic=${topic}&limit=2&after=${cursorOf(first)}`,
  )
  t.equal(second.body.length, 1, 'a partial page')
  t.equal(second.headers.get('link'), null, 'with nothing more to follow')
  const after = cursorOf(second)!
  t.not(after, cursorOf(first))
  const empty = await get<unknown[]>(url, `/events?topic=${topic}&after=${after}`)
  t.same(empty.body, [])
  t.equal(cursorOf(empty), after, 'an empty page resumes where it was asked to')
  t.same(
    [...first.body, ...second.body].map((e) => e.event_id).sort(),
    sent.map((e) => e.event_id).sort(),
  )
})

t.test('a long poll answers as soon as an event is committed', async (t) => {
  const topic = 'feed.wake'
  const start = cursorOf(await get(url, `/events?topic=${topic}`))!
  const polling = get<{ event_id: string }[]>(url, `/events?topic=${topic}&after=${start}&wait=60`)
  const sent = event({ topic })
  t.equal((await post(url, '/publish?ack=durable', sent)).status, 200)
  const woken = await polling
  t.equal(woken.status, 200)
  t.same(
    woken.body.map((e) => e.event_id),
    [sent.event_id],
    'woken by the commit, well before 60 s',
  )
  t.not(cursorOf(woken), start)
})

t.test('a long poll with nothing to read ends with an empty page after its wait', async (t) => {
  const reply = await get<unknown[]>(url, `/events?topic=feed.quiet&wait=1`)
  t.equal(reply.status, 200)
  t.same(reply.body, [])
  t.equal(cursorOf(reply), START)
})

t.test('shutdown ends a long poll at once with what there is', async (t) => {
  const other = await startApp(t, { DATABASE_URL: db.url })
  const polling = get<unknown[]>(other.url, `/events?topic=feed.shutdown&wait=60`)
  // the poll is waiting once the server counts it in flight; its answer comes at shutdown
  await new Promise((resolve) => setTimeout(resolve, 200))
  await other.stop()
  const reply = await polling
  t.equal(reply.status, 200)
  t.same(reply.body, [])
})

t.test(
  'both feed statements, planned generically, start at the position: a read touches its page, not its topic',
  async (t) => {
    const big = await testDatabase(t)
    await startApp(t, { DATABASE_URL: big.url }).then((a) => a.stop())
    // twenty transactions (twenty xids) of ten busy topics, and a quiet topic in the first only
    for (let x = 0; x < 20; x++) {
      await big.sql.unsafe(`
        INSERT INTO events (topic, event_id, ts, source, payload)
        SELECT CASE WHEN ${x} = 0 AND i = 1 THEN 'quiet' ELSE 'bulk.' || (i % 10) END,
               '${x}-' || i, now(), 's', '{}'
        FROM generate_series(1, 2500) i`)
    }
    await big.sql.unsafe('ANALYZE events')
    // a read of the last 10 events of a busy topic, of everything, and of the quiet topic from
    // its start (every later event is another topic's)
    const [last] = await big.sql<{ xid: string; seq: string }[]>`
      SELECT xid::text, seq::text FROM events WHERE topic = 'bulk.1'
      ORDER BY events.xid DESC, events.seq DESC OFFSET 10 LIMIT 1`
    const [lastAll] = await big.sql<{ xid: string; seq: string }[]>`
      SELECT xid::text, seq::text FROM events ORDER BY events.xid DESC, events.seq DESC OFFSET 10 LIMIT 1`
    const position = (p: { xid: string; seq: string }) => `'${p.xid}', '${p.seq}'`
    await big.sql.begin(async (tx) => {
      await tx.unsafe(`SET LOCAL plan_cache_mode = force_generic_plan`)
      for (const [name, text, args, rows] of [
        ['all', FEED_ALL_TOPICS, `${position(lastAll!)}, 1000, 1000000`, 10],
        ['one', FEED_ONE_TOPIC, `${position(last!)}, 1000, 1000000, 'bulk.1'`, 10],
        ['quiet', FEED_ONE_TOPIC, `'0', '0', 1000, 1000000, 'quiet'`, 1],
      ] as const) {
        await tx.unsafe(
          `PREPARE feed_${name} (xid8, bigint, int, int${text === FEED_ONE_TOPIC ? ', text' : ''}) AS ${text}`,
        )
        const [row] = await tx.unsafe<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
          `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE feed_${name} (${args})`,
        )
        const scans = nodes(row!['QUERY PLAN'][0].Plan).filter(
          (n) => n['Relation Name'] === 'events',
        )
        t.ok(scans.length > 0, `${name}: reads events`)
        for (const scan of scans) {
          const what = `${name}: ${scan['Node Type']} using ${scan['Index Name']}`
          t.ok(/^Index (Only )?Scan$/.test(scan['Node Type']), `${what}: an index scan`)
          t.notOk(scan['Rows Removed by Filter'], `${what}: nothing read and thrown away`)
          t.ok(
            scan['Actual Rows'] <= rows,
            `${what}: ${scan['Actual Rows']} rows, the page's at most`,
          )
          if (text === FEED_ONE_TOPIC) t.equal(scan['Index Name'], 'events_topic_xid_seq', what)
        }
      }
    })
    // the trap the two statements avoid: one statement for both forms scans the whole table
    await big.sql.begin(async (tx) => {
      await tx.unsafe(`SET LOCAL plan_cache_mode = force_generic_plan`)
      await tx.unsafe(
        `PREPARE trap (text) AS SELECT seq FROM events WHERE ($1 IS NULL OR topic = $1) ORDER BY topic, xid, seq LIMIT 10`,
      )
      const plan = await tx.unsafe<{ 'QUERY PLAN': string }[]>(`EXPLAIN EXECUTE trap ('bulk.1')`)
      t.notMatch(
        plan.map((r) => r['QUERY PLAN']).join('\n'),
        /Index Cond/,
        'the shared form has no index condition',
      )
    })
  },
)

/** A plan node as EXPLAIN (FORMAT JSON) gives it: the fields read here. */
interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  'Actual Rows': number
  'Rows Removed by Filter'?: number
  Plans?: PlanNode[]
}

const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)]

t.test(
  'start-up refuses stored transaction ids ahead of the cluster (a restore elsewhere)',
  async (t) => {
    const restored = await testDatabase(t)
    await startApp(t, { DATABASE_URL: restored.url }).then((a) => a.stop())
    await restored.sql.unsafe(`
    INSERT INTO events (topic, event_id, ts, source, payload, xid)
    VALUES ('restored', 'e1', now(), 's', '{}',
            (pg_snapshot_xmax(pg_current_snapshot())::text::bigint + (1::bigint << 33))::text::xid8)`)
    await t.rejects(startApp(t, { DATABASE_URL: restored.url }), {
      code: 'ERR_AGG_FEED_XIDS',
      message: /restored from another cluster.*pg_resetwal -e 2 -x \d+/,
    })
  },
)
