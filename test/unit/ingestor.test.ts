/**
 * The deadline of a durable acknowledgement (ACK_TIMEOUT_MS), on a pipeline whose tickets are
 * settled by hand: a late request is freed, its ticket still settles, nothing is counted twice.
 */
import t from 'tap'
import { Ingestor } from '../../src/ingest/ingestor.js'
import { Ticket } from '../../src/pipeline/ticket.js'
import pino from 'pino'
import { EdgeCounters } from '../../src/stats/edge.js'

const BODY = new TextEncoder().encode(
  JSON.stringify({
    topic: 'unit.ack',
    event_id: 'evt-1',
    timestamp: '2025-10-21T10:00:00.000Z',
    source: 'unit',
  }),
)

/** An ingestor whose every admitted request gets one open part on `ticket`. */
function ingestor(ackTimeoutMs: number) {
  const edge = new EdgeCounters(pino({ level: 'silent' }))
  const tickets: Ticket[] = []
  const pipeline = {
    admit: (events: readonly unknown[]) => {
      const ticket = new Ticket(events.length)
      ticket.addPart()
      ticket.seal()
      tickets.push(ticket)
      return ticket
    },
  }
  return { ingest: new Ingestor(pipeline, edge, 10, ackTimeoutMs), edge, tickets }
}

t.test('a durable request not committed by the deadline is answered late', async (t) => {
  const { ingest, edge, tickets } = ingestor(20)
  const result = await ingest.publish(BODY, 'json', 'durable')
  t.equal(result.kind, 'late')
  t.match(result, { message: /ACK_TIMEOUT_MS \(20 ms\); they may still be stored/ })
  t.equal(edge.accepted, 1, 'its event was admitted, and counted once')
  tickets[0]!.partStored(1)
  t.same(await tickets[0]!.done, { accepted: 1, unique: 1, duplicates: 0 }, 'and settles later')
})

t.test('a request committed or failed before the deadline gets its outcome', async (t) => {
  const { ingest, tickets } = ingestor(60_000)
  const stored = ingest.publish(BODY, 'json', 'durable')
  tickets[0]!.partStored(0)
  t.same(await stored, { kind: 'stored', stored: { accepted: 1, unique: 0, duplicates: 1 } })
  const failed = ingest.publish(BODY, 'json', 'durable')
  tickets[1]!.partFailed(new Error('relation "events" does not exist'))
  const answer = await failed
  t.match(answer, { kind: 'failed', message: /could not be stored/ })
  t.notMatch(answer, { message: /relation/ }, 'the cause stays in the log, out of the answer')
})

t.test('an async request never waits', async (t) => {
  const { ingest } = ingestor(20)
  t.same(await ingest.publish(BODY, 'json', 'async'), { kind: 'queued', accepted: 1 })
})
