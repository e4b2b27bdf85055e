/**
 * Many large uploads at once: the process stays under the memory bound the README documents,
 * computed from the settings passed here, and every answer is 200 or 503 + Retry-After, with every
 * 200-acknowledged event stored. A child process, so its peak RSS is the service's own.
 */
import { request } from 'node:http'
import t from 'tap'
import { startProcess } from './support/aggregator.js'
import { event, type TestEvent } from './support/client.js'
import { testDatabase } from './support/database.js'

const MIB = 1024 ** 2
const BODY_BUDGET_BYTES = 32 * MIB
const QUEUE_MAX_BYTES = 32 * MIB
/**
 * The README's memory model: RSS ≲ baseline + 4 × BODY_BUDGET_BYTES + 3 × QUEUE_MAX_BYTES. The
 * idle process (two threads, their connections) measures about 95 MB; the baseline adds the heap
 * the garbage collector has not given back yet.
 */
const BASELINE_MB = 150
const BOUND_MB = BASELINE_MB + (4 * BODY_BUDGET_BYTES + 3 * QUEUE_MAX_BYTES) / MIB
const UPLOADS = 40
const EVENTS_PER_UPLOAD = 2000

const db = await testDatabase(t)
const server = await startProcess(t, {
  DATABASE_URL: db.url,
  SHARDS: '1',
  BODY_BUDGET_BYTES: String(BODY_BUDGET_BYTES),
  QUEUE_MAX_BYTES: String(QUEUE_MAX_BYTES),
})

/** A batch of ~9 MB: 2,000 events of ~4.5 KB. */
function upload(n: number): { events: TestEvent[]; body: Uint8Array } {
  const filler = 'x'.repeat(4500)
  const events = Array.from({ length: EVENTS_PER_UPLOAD }, () =>
    event({ topic: `memory.${n}`, payload: { filler } }),
  )
  return { events, body: new TextEncoder().encode(JSON.stringify(events)) }
}

interface Answer {
  status: number
  retryAfter: string | undefined
}

/**
 * One upload with node:http, not fetch: a refusal arrives while the body is still being sent,
 * and the server then closes the connection; fetch reports only the failed write, node:http
 * reports the answer it read.
 */
function send(body: Uint8Array): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': body.length },
    })
    req.on('response', (res) => {
      res.resume()
      res.on('end', () =>
        resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] }),
      )
    })
    // after an answer, the write cut short by the server's close is expected
    req.on('error', reject)
    req.end(body)
  })
}

t.test('40 concurrent uploads of ~9 MB stay under the documented memory bound', async (t) => {
  const idle = await server.peakRssMb()
  const uploads = Array.from({ length: UPLOADS }, (_, n) => upload(n))
  const answers = await Promise.all(uploads.map(({ body }) => send(body)))
  const peak = await server.peakRssMb()
  const ok = answers.filter((a) => a.status === 200).length
  t.comment(
    `${ok} of ${UPLOADS} uploads answered 200, peak RSS ${peak} MB (${idle} MB idle), bound ${BOUND_MB} MB`,
  )
  t.ok(peak < BOUND_MB, `peak RSS ${peak} MB under the bound of ${BOUND_MB} MB`)
  t.same(
    answers.filter((a) => !(a.status === 200 || (a.status === 503 && a.retryAfter !== undefined))),
    [],
    'every answer is 200, or 503 with Retry-After',
  )
  t.ok(ok > 0, 'some uploads were accepted')

  const acked = uploads.flatMap((u, i) => (answers[i]!.status === 200 ? u.events : []))
  const ids = acked.map((e) => e.event_id)
  const [row] = await db.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM events WHERE event_id = ANY(${ids})`
  t.equal(row!.n, ids.length, `all ${ids.length} acknowledged events are stored`)
})
