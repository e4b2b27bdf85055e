import { Writable } from 'node:stream'
import pino from 'pino'
import t, { type Test } from 'tap'
import { postgresStore } from '../../src/db/postgres-store.js'
import { createLogger, type Logger } from '../../src/log.js'
import { shardOf } from '../../src/pipeline/route.js'
import type { BatchReport } from '../../src/pipeline/shard.js'
import { Shards } from '../../src/pipeline/shards.js'
import { FIXTURE_WORKER, UNUSED_WORKER_CONFIG, unitEvent } from '../fixtures/pipeline.js'

interface Sizes {
  shards?: number
  batchMaxEvents?: number
  queueMaxEvents?: number
  queueMaxBytes?: number
}

function startShards(t: Test, sizes: Sizes, log: Logger = createLogger('silent', 'json')) {
  const reports: BatchReport[] = []
  const shards = new Shards({
    onBatch: (report) => reports.push(report),
    store: postgresStore,
    shards: sizes.shards ?? 1,
    batchMaxEvents: sizes.batchMaxEvents ?? 100,
    batchMaxBytes: 1024 ** 2,
    flushIntervalMs: 0,
    queueMaxEvents: sizes.queueMaxEvents ?? 1000,
    queueMaxBytes: sizes.queueMaxBytes ?? 1024 ** 2,
    worker: UNUSED_WORKER_CONFIG,
    workerFile: FIXTURE_WORKER,
    log,
  })
  t.teardown(() => shards.close())
  return { shards, reports }
}

const events = (topic: string, n: number) =>
  Array.from({ length: n }, (_, i) => unitEvent(topic, `id-${i}`))

t.test('a request is split by key into one part per shard it touches', async (t) => {
  const { shards, reports } = startShards(t, { shards: 4 })
  const request = events('split', 40)
  const expected = [0, 0, 0, 0]
  for (const e of request) expected[shardOf(e.topic, e.event_id, 4)]!++
  t.ok(
    expected.every((n) => n > 0),
    'the keys reach every shard',
  )

  const ticket = shards.admit(request)!
  t.same(
    shards.stats().map((s) => s.queue_depth),
    expected,
    'each shard queues the events it owns',
  )
  t.same(await ticket.done, { accepted: 40, unique: 40, duplicates: 0 })
  await shards.close()
  t.same(
    reports.map((r) => [r.shard, r.parts, r.events]).sort(),
    expected.map((n, shard) => [shard, 1, n]),
    'one part, and so one batch, per shard',
  )
})

t.test('a share larger than batchMaxEvents is cut into several parts', async (t) => {
  const { shards, reports } = startShards(t, { batchMaxEvents: 2 })
  const ticket = shards.admit(events('cut', 5))!
  t.same(await ticket.done, { accepted: 5, unique: 5, duplicates: 0 })
  t.same(
    reports.map((r) => r.events),
    [2, 2, 1],
  )
})

t.test('a request is refused when the queues cannot take all its events', async (t) => {
  const { shards } = startShards(t, { queueMaxEvents: 3 })
  t.equal(shards.admit(events('full', 4)), null, 'more than the queues hold at all')
  const admitted = shards.admit(events('full', 3))
  t.ok(admitted)
  t.ok(shards.full)
  t.equal(shards.fill, 1, 'the share of the limit in use: all of it')
  t.equal(shards.admit(events('more', 1)), null, 'the queues are full until the batch leaves')
  t.equal(shards.queued, 3)
  await admitted!.done
  t.notOk(shards.full)
  t.equal(shards.fill, 0)
  t.equal(shards.inFlight, 0)
  t.ok(shards.admit(events('more', 1)))
})

t.test(
  'a request is refused while the shards hold QUEUE_MAX_BYTES of rows, until its batch settles',
  async (t) => {
    const { shards } = startShards(t, { queueMaxBytes: 200 })
    const big = shards.admit(events('bytes', 10))
    t.ok(big, 'shards that hold nothing admit a request larger than the byte bound')
    t.ok(shards.heldBytes > 200, `its rows are counted (${shards.heldBytes} bytes)`)
    t.ok(shards.full, 'full by bytes, though far from full by count')
    t.ok(shards.fill > 1, `the fill counts the larger share: bytes (${shards.fill})`)
    t.equal(shards.admit(events('bytes.more', 1)), null, 'refused while the rows are held')
    await big!.done
    t.equal(shards.heldBytes, 0, 'the rows are let go once their batch settled')
    t.notOk(shards.full)
    t.ok(shards.admit(events('bytes.more', 1)))
  },
)

t.test('an empty request is stored at once', async (t) => {
  const { shards, reports } = startShards(t, {})
  t.same(await shards.admit([])!.done, { accepted: 0, unique: 0, duplicates: 0 })
  t.same(reports, [], 'no batch was sent')
})

t.test('debug logs follow each event from its request to its outcome', async (t) => {
  const lines: { msg: string; event_id?: string }[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number])
      done()
    },
  })
  const { shards } = startShards(t, {}, pino({ level: 'debug' }, sink))
  await shards.admit([unitEvent('logs', 'a'), unitEvent('logs', 'a')])!.done
  await shards.close()
  t.same(
    lines.filter((l) => l.event_id === 'a').map((l) => l.msg),
    [
      'Enqueued event',
      'Enqueued event',
      'Processing event',
      'Processing event',
      'Saved to DB',
      'Duplicate dropped',
    ],
  )
  t.ok(lines.some((l) => l.msg === 'batch committed'))
})
