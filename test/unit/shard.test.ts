import { setImmediate as nextTurn } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { postgresStore } from '../../src/db/postgres-store.js'
import type { EventRecord } from '../../src/db/store.js'
import { createLogger } from '../../src/log.js'
import { PartBuilder } from '../../src/pipeline/part.js'
import { Shard, type BatchReport } from '../../src/pipeline/shard.js'
import { Ticket } from '../../src/pipeline/ticket.js'
import { FIXTURE_WORKER, UNUSED_WORKER_CONFIG, unitEvent } from '../fixtures/pipeline.js'
import { DIE_TOPIC, FAIL_TOPIC, REFUSAL } from '../fixtures/store-worker.js'

function startShard(t: Test, batchMaxEvents = 100, batchMaxBytes = 1024 ** 2) {
  const reports: BatchReport[] = []
  const shard = new Shard({
    onBatch: (report) => reports.push(report),
    batchMaxEvents,
    batchMaxBytes,
    flushIntervalMs: 0,
    worker: { ...UNUSED_WORKER_CONFIG, shard: 0 },
    workerFile: FIXTURE_WORKER,
    log: createLogger('silent', 'json'),
  })
  t.teardown(() => shard.close())
  return { shard, reports }
}

let nextPartId = 1

/** One request whose events all belong to this shard: one part, one ticket. */
function publish(shard: Shard, events: EventRecord[]): Ticket {
  const ticket = new Ticket(events.length)
  const part = new PartBuilder(nextPartId++, false)
  for (const event of events) part.add(postgresStore.row(part.id, event), event)
  ticket.addPart()
  shard.enqueue(part.build(ticket))
  ticket.seal()
  return ticket
}

t.test('a shard goes idle → scheduled → flushing → idle around one batch', async (t) => {
  const { shard, reports } = startShard(t)
  t.equal(shard.state, 'idle')
  const ticket = publish(shard, [unitEvent('a', '1'), unitEvent('a', '2'), unitEvent('a', '1')])
  t.equal(shard.state, 'scheduled', 'the flush waits for the next turn')
  t.equal(shard.queued, 3)
  await nextTurn()
  t.equal(shard.state, 'flushing', 'the batch is at the worker')
  t.equal(shard.queued, 0)
  t.equal(shard.inFlight, 3)
  t.same(await ticket.done, { accepted: 3, unique: 2, duplicates: 1 })
  await shard.idle()
  t.equal(shard.state, 'idle')
  t.match(reports, [{ shard: 0, parts: 1, events: 3, unique: 2, duplicates: 1, attempts: 1 }])
  t.notOk(reports[0]!.failed)
  t.match(shard.stats(), {
    shard: 0,
    queue_depth: 0,
    batching: 0,
    batches: 1,
    events: 3,
    stored: 2,
    duplicates: 1,
    failed_batches: 0,
    failed_events: 0,
    last_batch_ms: 1,
    worker_up: true,
  })
})

t.test('events the store already holds count as duplicates for later requests', async (t) => {
  const { shard } = startShard(t)
  t.same(await publish(shard, [unitEvent('dup', '1')]).done, {
    accepted: 1,
    unique: 1,
    duplicates: 0,
  })
  t.same(await publish(shard, [unitEvent('dup', '1'), unitEvent('dup', '2')]).done, {
    accepted: 2,
    unique: 1,
    duplicates: 1,
  })
})

t.test(
  'parts queued during a flush go together in the next batch, cut at batchMaxEvents',
  async (t) => {
    const { shard, reports } = startShard(t, 2)
    const first = publish(shard, [unitEvent('group', '0')])
    await nextTurn()
    t.equal(shard.state, 'flushing')
    const later = [1, 2, 3].map((i) => publish(shard, [unitEvent('group', String(i))]))
    t.equal(shard.state, 'flushing', 'a part arriving during a flush waits for it')
    t.equal(shard.queued, 3)
    await Promise.all([first, ...later].map((ticket) => ticket.done))
    await shard.idle()
    t.same(
      reports.map((r) => [r.parts, r.events]),
      [
        [1, 1],
        [2, 2],
        [1, 1],
      ],
      'whole parts, as many as fit in batchMaxEvents',
    )
  },
)

t.test(
  'parts of large rows are cut into batches at batchMaxBytes, one part at least',
  async (t) => {
    const { shard, reports } = startShard(t, 100, 10_000)
    /** One request of one event whose row is about `bytes` long. */
    const large = (id: string, bytes: number) =>
      publish(shard, [
        { ...unitEvent('bytes', id), payload: JSON.stringify({ pad: 'x'.repeat(bytes) }) },
      ])
    const first = large('0', 100)
    await nextTurn()
    t.equal(shard.state, 'flushing')
    // 4 KB each: two fit in 10,000 bytes, a third does not; the 20 KB one goes alone
    const later = [large('1', 4000), large('2', 4000), large('3', 4000), large('4', 20_000)]
    await Promise.all([first, ...later].map((ticket) => ticket.done))
    await shard.idle()
    t.same(
      reports.map((r) => [r.parts, r.events]),
      [
        [1, 1],
        [2, 2],
        [1, 1],
        [1, 1],
      ],
      'whole parts, as many as fit in batchMaxBytes; a larger part alone',
    )
  },
)

t.test('a refused batch of several requests fails only the request it cannot store', async (t) => {
  const { shard, reports } = startShard(t)
  const first = publish(shard, [unitEvent('poison.first', '1')])
  await nextTurn()
  t.equal(shard.state, 'flushing')
  const good = ['a', 'b', 'c', 'd', 'e'].map((id) => publish(shard, [unitEvent('poison.ok', id)]))
  const bad = publish(shard, [unitEvent('poison.ok', 'f'), unitEvent(FAIL_TOPIC, 'g')])
  const more = publish(shard, [unitEvent('poison.ok', 'h')])
  await first.done
  for (const ticket of [...good, more]) {
    t.same(await ticket.done, { accepted: 1, unique: 1, duplicates: 0 })
  }
  await t.rejects(bad.done, { code: 'ERR_AGG_BATCH_FAILED', cause: { message: REFUSAL } })
  await shard.idle()
  t.match(shard.stats(), { events: 7, stored: 7, failed_batches: 1, failed_events: 2 })
  t.equal(shard.inFlight, 0)
  const failed = reports.filter((r) => r.failed !== undefined)
  t.match(failed, [{ parts: 1, events: 2 }], 'one report for the one request that failed')
})

t.test('a batch the store refuses fails its requests, and the shard goes on', async (t) => {
  const { shard, reports } = startShard(t)
  const refused = publish(shard, [unitEvent(FAIL_TOPIC, '1')])
  const error = await refused.done.catch((e: unknown) => e)
  t.match(error, {
    name: 'BatchFailed',
    code: 'ERR_AGG_BATCH_FAILED',
    cause: { message: REFUSAL },
  })
  t.equal(reports[0]!.failed, error, 'the report carries the failure')
  t.match(reports[0], { events: 1, unique: 0, duplicates: 0 })
  t.match(shard.stats(), { batches: 0, failed_batches: 1, failed_events: 1 })
  t.equal(shard.inFlight, 0)
  t.same(await publish(shard, [unitEvent('after', '1')]).done, {
    accepted: 1,
    unique: 1,
    duplicates: 0,
  })
})

t.test('a worker that dies fails its batch, and a new one stores the next', async (t) => {
  const { shard } = startShard(t)
  const doomed = publish(shard, [unitEvent(DIE_TOPIC, '1')])
  await t.rejects(doomed.done, { code: 'ERR_AGG_BATCH_FAILED', cause: { message: /exited/ } })
  t.same(await publish(shard, [unitEvent('revived', '1')]).done, {
    accepted: 1,
    unique: 1,
    duplicates: 0,
  })
  t.ok(shard.workerUp)
})

t.test('idle() waits for every queued and flushing batch', async (t) => {
  const { shard } = startShard(t)
  const tickets = [publish(shard, [unitEvent('idle', '1')])]
  await nextTurn()
  tickets.push(publish(shard, [unitEvent('idle', '2')]))
  let settled = 0
  for (const ticket of tickets) void ticket.done.then(() => settled++)
  await shard.idle()
  await Promise.resolve()
  t.equal(settled, 2)
  t.equal(shard.state, 'idle')
})
