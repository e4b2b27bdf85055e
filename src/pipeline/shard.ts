/**
 * One shard: a queue of parts in the main thread and a single worker thread that stores them.
 *
 * States (`state`), changed only through `move()`, which asserts where it comes from:
 *
 *   idle ──part queued──▶ scheduled ──linger over──▶ flushing ──batch settled──▶ idle
 *                             ▲                          │
 *                             └──── parts are waiting ───┘
 *
 *   idle       nothing queued, no batch at the worker
 *   scheduled  parts queued; the flush runs after `flushIntervalMs` (at 0, on the next turn)
 *   flushing   one batch at the worker; parts arriving now wait for it to settle
 *
 * When a batch settles the shard flushes again at once if parts are waiting, so under load each
 * batch carries whatever queued while the previous one committed: group commit without a timer.
 * Every batch, committed or failed, ends in one `BatchReport`: it feeds the shard's totals, its
 * log line and the listener (the metrics).
 *
 * Piscina balances tasks by load, not by key, so each shard has its own one-thread pool; atomics
 * are off so the worker's socket and timers keep running between tasks.
 */
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import type { Logger } from '../log.js'
import type { Key, Part } from './part.js'
import type { FlushResult, FlushTask, WorkerConfig } from './protocol.js'
import { BatchFailed } from './ticket.js'

const FLUSH_WORKER = fileURLToPath(new URL('../../workers/flush.js', import.meta.url))

export type ShardState = 'idle' | 'scheduled' | 'flushing'

/** What one batch came to: a new figure is a field here, filled in `flush()`, read by a listener. */
export interface BatchReport {
  shard: number
  /** Requests (parts) in the batch. */
  parts: number
  events: number
  /** Of `events`, how many were new (stored) and how many duplicates; both 0 when failed. */
  unique: number
  duplicates: number
  /** Time to commit (measured by the worker) or to fail, retries included. */
  ms: number
  /** Attempts it took to commit; 0 when failed: the count stays in the worker with the error. */
  attempts: number
  /** Set when the batch failed after its retries: every request in it fails with this. */
  failed?: BatchFailed
}

export interface ShardOptions {
  /** Told of every batch, committed or failed. */
  onBatch?: (report: BatchReport) => void
  batchMaxEvents: number
  flushIntervalMs: number
  worker: WorkerConfig
  /** The worker thread's module: workers/flush.js unless a test plays the store. */
  workerFile?: string
  log: Logger
}

export interface ShardStats {
  shard: number
  queue_depth: number
  batching: number
  batches: number
  events: number
  /** Of `events`, how many were new (stored) and how many duplicates, by this process. */
  stored: number
  duplicates: number
  failed_batches: number
  failed_events: number
  last_batch_ms: number | null
  worker_up: boolean
}

export class Shard {
  readonly index: number
  /** Events waiting in the queue, not yet handed to the worker. */
  queued = 0
  /** Events in the batch the worker is storing now. */
  private batching = 0
  /** Bytes of rows held: queued, or in the batch being stored (QUEUE_MAX_BYTES bounds them). */
  heldBytes = 0

  get inFlight(): number {
    return this.queued + this.batching
  }
  private current: ShardState = 'idle'
  private queue: Part[] = []
  private idleWaiters: (() => void)[] = []
  private batches = 0
  private events = 0
  private stored = 0
  private failedBatches = 0
  private failedEvents = 0
  private lastBatchMs: number | null = null
  private readonly pool: Piscina<FlushTask, FlushResult>
  private readonly log: Logger

  constructor(private readonly options: ShardOptions) {
    this.index = options.worker.shard
    this.log = options.log.child({ shard: this.index })
    this.pool = new Piscina({
      filename: options.workerFile ?? FLUSH_WORKER,
      name: 'default',
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Infinity,
      atomics: 'disabled',
      // a worker only holds the batch it stores (transferred, outside its heap): a small young
      // generation keeps its resident memory down
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
      workerData: options.worker,
    })
    // A worker that dies between batches: Piscina replaces it; nothing was pending.
    this.pool.on('error', (error: Error) => {
      this.log.error({ err: error }, 'worker thread died while idle; replaced')
    })
  }

  get state(): ShardState {
    return this.current
  }

  enqueue(part: Part): void {
    this.queue.push(part)
    this.queued += part.events
    this.heldBytes += part.rows.length
    if (this.current === 'idle') this.schedule()
  }

  /** Resolves once nothing is queued or being stored. */
  idle(): Promise<void> {
    if (this.current === 'idle') return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  async close(): Promise<void> {
    await this.idle()
    await this.pool.destroy()
  }

  stats(): ShardStats {
    return {
      shard: this.index,
      queue_depth: this.queued,
      batching: this.batching,
      batches: this.batches,
      events: this.events,
      stored: this.stored,
      duplicates: this.events - this.stored,
      failed_batches: this.failedBatches,
      failed_events: this.failedEvents,
      last_batch_ms: this.lastBatchMs,
      worker_up: this.workerUp,
    }
  }

  get workerUp(): boolean {
    return this.pool.threads.length > 0
  }

  private move(from: ShardState, to: ShardState): void {
    assert.equal(this.current, from, `shard ${this.index}: ${from} → ${to} while ${this.current}`)
    this.current = to
  }

  private schedule(): void {
    assert.ok(this.queue.length > 0, `shard ${this.index}: scheduled with nothing queued`)
    this.move('idle', 'scheduled')
    const run = () => void this.flush()
    if (this.options.flushIntervalMs > 0) setTimeout(run, this.options.flushIntervalMs)
    else setImmediate(run)
  }

  /** The next batch: whole parts, at least one, up to `batchMaxEvents` events. */
  private take(): { parts: Part[]; events: number } {
    const max = this.options.batchMaxEvents
    let events = 0
    let n = 0
    while (n < this.queue.length && (n === 0 || events + this.queue[n]!.events <= max)) {
      events += this.queue[n++]!.events
    }
    return { parts: this.queue.splice(0, n), events }
  }

  private async flush(): Promise<void> {
    this.move('scheduled', 'flushing')
    const { parts, events } = this.take()
    this.queued -= events
    this.batching = events
    const bytes = byteSize(parts)
    const listSaved = this.log.isLevelEnabled('debug')
    if (listSaved) logEach(this.log, parts, 'Processing event')
    const batch = { shard: this.index, parts: parts.length, events }
    const started = performance.now()
    let report: BatchReport
    try {
      const rows = concat(parts)
      const result = await this.pool.run({ rows, listSaved }, { transferList: [rows.buffer] })
      const unique = this.settle(parts, result)
      const { ms, attempts } = result
      report = { ...batch, unique, duplicates: events - unique, ms, attempts }
      if (listSaved) logOutcome(this.log, parts, result.saved)
    } catch (cause) {
      const failed = new BatchFailed({ cause })
      for (const part of parts) part.ticket.partFailed(failed)
      const ms = performance.now() - started
      report = { ...batch, unique: 0, duplicates: 0, ms, attempts: 0, failed }
    }
    this.batching = 0
    this.heldBytes -= bytes
    this.record(report)
    this.move('flushing', 'idle')
    if (this.queue.length > 0) this.schedule()
    else for (const wake of this.idleWaiters.splice(0)) wake()
  }

  /** Tells each part's ticket how many of its events were new; returns the batch's total. */
  private settle(parts: Part[], result: FlushResult): number {
    const stored = new Map<number, number>()
    let total = 0
    for (let i = 0; i < result.inserted.length; i += 2) {
      stored.set(result.inserted[i]!, result.inserted[i + 1]!)
      total += result.inserted[i + 1]!
    }
    for (const part of parts) part.ticket.partStored(stored.get(part.id) ?? 0)
    return total
  }

  /** The one place a batch's outcome is counted, logged and told to the listener. */
  private record(report: BatchReport): void {
    const { events, unique, duplicates, attempts, failed } = report
    const ms = Math.round(report.ms * 10) / 10
    if (failed === undefined) {
      this.batches++
      this.events += events
      this.stored += unique
      this.lastBatchMs = ms
      this.log.info({ events, unique, duplicates, ms, attempts }, 'batch committed')
    } else {
      this.failedBatches++
      this.failedEvents += events
      this.log.error(
        { err: failed.cause, events, parts: report.parts },
        'batch failed; its requests get 503',
      )
    }
    this.options.onBatch?.(report)
  }
}

/** One buffer that owns its memory (never a slice of Node's shared pool), so it can be moved. */
function concat(parts: Part[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(byteSize(parts))
  let at = 0
  for (const part of parts) {
    out.set(part.rows, at)
    at += part.rows.length
  }
  return out
}

function byteSize(parts: Part[]): number {
  let size = 0
  for (const part of parts) size += part.rows.length
  return size
}

function logEach(log: Logger, parts: Part[], msg: string): void {
  for (const part of parts) {
    for (const [topic, event_id] of part.keys ?? []) log.debug({ topic, event_id }, msg)
  }
}

function logOutcome(log: Logger, parts: Part[], saved: Key[]): void {
  const stored = new Set(saved.map(([topic, id]) => `${topic}\u0000${id}`))
  for (const part of parts) {
    for (const [topic, event_id] of part.keys ?? []) {
      const key = `${topic}\u0000${event_id}`
      // the first occurrence in the batch was stored; any later one is a duplicate
      const wasStored = stored.delete(key)
      log.debug({ topic, event_id }, wasStored ? 'Saved to DB' : 'Duplicate dropped')
    }
  }
}
