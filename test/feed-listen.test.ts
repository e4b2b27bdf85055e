/**
 * The connection that LISTENs for other replicas' commits is lost: the process listens again, and
 * a commit elsewhere wakes its long polls and streams as before; commits announced while it was
 * not listening are read once it is back. Another replica is played by the test: it stores a row
 * and sends the NOTIFY an aggregator sends after a commit. No heartbeat wakes the streams here,
 * so a stream gets an event only when a wake-up makes the hub read.
 */
import postgres from 'postgres'
import t, { type Test } from 'tap'
import { startApp } from './support/app.js'
import { event } from './support/client.js'
import { consumer, follow } from './support/consumer.js'
import { testDatabase } from './support/database.js'
import { SseReader } from './support/sse.js'

const db = await testDatabase(t)
const app = await startApp(t, {
  DATABASE_URL: db.url,
  INSTANCE_ID: 'listen-a',
  SSE_HEARTBEAT_MS: '3600000',
})

/** The backend LISTENing for commits in the test's database, once there is one. */
async function listener(not?: number): Promise<number> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const [row] = await db.sql<{ pid: number }[]>`
      SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND query ILIKE 'listen %' AND pid <> ${not ?? 0}`
    if (row !== undefined) return row.pid
    if (Date.now() > deadline) throw new Error('no connection LISTENs for commits')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function terminate(pid: number): Promise<void> {
  await db.sql`SELECT pg_terminate_backend(${pid})`
  // gone from pg_stat_activity: the app's client has seen its connection close
  for (let tries = 0; tries < 600; tries++) {
    const rows = await db.sql`SELECT 1 FROM pg_stat_activity WHERE pid = ${pid}`
    if (rows.length === 0) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`backend ${pid} did not end`)
}

/** What another replica does: commit an event, then announce it. */
async function commitElsewhere(topic: string): Promise<string> {
  const sent = event({ topic })
  await db.sql`
    INSERT INTO events (topic, event_id, ts, source, payload)
    VALUES (${sent.topic}, ${sent.event_id}, ${sent.timestamp}, ${sent.source}, ${db.sql.json(
      sent.payload as never,
    )})`
  await db.sql.notify('pubsub_aggregator_commits', 'listen-other')
  return sent.event_id
}

/** A long poll and a stream on `topic`, both at the feed's end, waiting. */
async function waiting(t: Test, topic: string) {
  const polling = consumer()
  await follow(app.url, polling, { topic })
  const stream = await SseReader.open(app.url, `/events/stream?topic=${topic}`)
  t.teardown(() => stream.close())
  return { poll: follow(app.url, polling, { topic, wait: 60 }), stream }
}

/**
 * The stream has no heartbeat to wake it: it gets the event only from a wake-up, which wakes the
 * long poll too (its 60 s would end with the event as well, so the stream is the proof).
 */
async function readersGot(
  t: Test,
  id: string,
  poll: Promise<string[]>,
  stream: SseReader,
): Promise<void> {
  await stream.until(() => stream.events.length > 0, 30_000, 'the stream')
  t.same(
    stream.events.map((e) => e.event_id),
    [id],
    'the stream delivered the event',
  )
  t.same(await poll, [id], 'the long poll answered with it')
}

t.test(
  'after its LISTEN connection is terminated, another replica’s commit still wakes readers',
  async (t) => {
    const topic = 'listen.again'
    const first = await listener()
    await terminate(first)
    await listener(first)
    const { poll, stream } = await waiting(t, topic)
    const id = await commitElsewhere(topic)
    await readersGot(t, id, poll, stream)
  },
)

t.test('a commit announced while nobody listened is read once listening is back', async (t) => {
  const topic = 'listen.gap'
  const { poll, stream } = await waiting(t, topic)
  // no new connection to the database until the commit is in: the LISTEN cannot come back
  // before it, so its announcement is lost, and only the re-listen can wake the readers
  const url = new URL(db.url)
  const name = url.pathname.slice(1)
  // a database cannot close itself to connections: this is said from another one
  url.pathname = '/postgres'
  const admin = postgres(url.toString(), { max: 1, onnotice: () => {} })
  t.teardown(() => admin.end({ timeout: 5 }))
  await admin.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`)
  let id: string
  try {
    await terminate(await listener())
    id = await commitElsewhere(topic)
    // long enough for the client's first attempts to listen again to be refused
    await new Promise((resolve) => setTimeout(resolve, 1000))
  } finally {
    await admin.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`)
  }
  await readersGot(t, id, poll, stream)
  await listener()
})
