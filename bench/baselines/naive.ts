/**
 * The naive design the older systems used, as a reference point: node:http, JSON.parse, an
 * in-process queue, and a few async consumers each doing one `INSERT … ON CONFLICT DO NOTHING`
 * (plus its counter update) per event. Same tables as the aggregator, same events, answering
 * `202` as soon as events are queued.
 */
import http from 'node:http'
import { connect } from '../../src/db/connect.js'
import { migrate } from '../../src/db/migrate.js'
import { urlTarget } from '../../src/db/target.js'

const CONSUMERS = Number(process.env.CONSUMERS ?? 4)
const sql = connect(urlTarget(process.env.DATABASE_URL!), { max: CONSUMERS, onnotice: () => {} })
await migrate(sql)

const queue: Record<string, unknown>[] = []
let received = 0
let processing = 0
const idle: (() => void)[] = []

async function consume(id: number): Promise<never> {
  for (;;) {
    const event = queue.shift()
    if (event === undefined) {
      await new Promise<void>((resolve) => idle.push(resolve))
      continue
    }
    processing++
    await sql`
      WITH ins AS (
        INSERT INTO events (topic, event_id, ts, source, payload)
        VALUES (${event.topic as string}, ${event.event_id as string},
                ${event.timestamp as string}::timestamptz, ${event.source as string},
                ${JSON.stringify(event.payload ?? {})}::json)
        ON CONFLICT (topic, event_id) DO NOTHING RETURNING 1)
      INSERT INTO counters AS c (instance, shard, topic, unique_processed, duplicate_dropped)
      SELECT 'naive', ${id}, ${event.topic as string}, n, 1 - n FROM (SELECT count(*)::int AS n FROM ins) x
      ON CONFLICT (instance, shard, topic) DO UPDATE
      SET unique_processed = c.unique_processed + excluded.unique_processed,
          duplicate_dropped = c.duplicate_dropped + excluded.duplicate_dropped`
    processing--
  }
}
for (let i = 0; i < CONSUMERS; i++) void consume(i)

const server = http.createServer((req, res) => {
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  }
  if (req.method === 'GET' && req.url === '/stats') {
    sql<
      { u: number; d: number }[]
    >`SELECT coalesce(sum(unique_processed), 0)::int AS u, coalesce(sum(duplicate_dropped), 0)::int AS d FROM counters`.then(
      ([row]) =>
        reply(200, {
          received,
          unique_processed: row!.u,
          duplicate_dropped: row!.d,
          in_flight: queue.length + processing,
        }),
      (error: Error) => reply(503, { error: 'database', message: error.message }),
    )
    return
  }
  let body = ''
  req.on('data', (chunk: Buffer) => (body += chunk.toString()))
  req.on('end', () => {
    let parsed: unknown
    try {
      parsed = JSON.parse(body)
    } catch {
      reply(400, { error: 'malformed_json' })
      return
    }
    const events = (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[]
    if (!events.every((e) => e.topic && e.event_id && e.timestamp && e.source)) {
      reply(422, { error: 'validation' })
      return
    }
    queue.push(...events)
    received += events.length
    for (const wake of idle.splice(0)) wake()
    reply(202, { status: 'queued', accepted: events.length })
  })
})

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address() as { port: number }
  process.stdout.write(JSON.stringify({ msg: 'listening (naive baseline)', port }) + '\n')
})
process.on('SIGTERM', () => {
  server.close()
  void sql.end({ timeout: 1 }).then(() => process.exit(0))
})
