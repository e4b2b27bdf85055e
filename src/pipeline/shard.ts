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
 * A batch is cut at `batchMaxEvents` events and `batchMaxBytes` bytes of rows, whichever comes
 * first. A batch of several parts that fails for what it holds (the worker says so: an error
 * that is not transient, or attempts that overran `DB_TIMEOUT_MS`) is split in halves, each
 * stored on its own, down to single parts: one request's poisonous events fail only that
 * request. Every batch stored or given up, split ones included, ends in one `BatchReport`: it
 * feeds the shard's totals, its log line and the listener (the metrics).
 *
 * Piscina balances tasks by load, not by key, so each shard has its own one-thread pool; atomics
 * are off so the worker's socket and timers keep running between tasks.
 */
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import type { Logger } from '../log.js'
import type { Key, Part } from './part.js'
import {
  WriteGaveUp,
  type FlushCommitted,
  type FlushResult,
  type FlushTask,
  type WorkerConfig,
} from './protocol.js'
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
  /** Events per topic, one map per part (not merged: a listener that wants them adds them up). */
  topics: readonly ReadonlyMap<string, number>[]
}

/** A batch the worker gave up, or that died with its worker. */
interface Refusal {
  committed: false
  cause: unknown
  /** Its parts may succeed apart (see `FlushFailed`). */
  divisible: boolean
}

export interface ShardOptions {
  /** Told of every batch, committed or failed. */
  onBatch?: (report: BatchReport) => void
  batchMaxEvents: number
  batchMaxBytes: number
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
  /** Events in the batch the worker is storing now, until each of its parts settles. */
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

  /**
   * The next batch: whole parts, at least one (however large), up to `batchMaxEvents` events
   * and `batchMaxBytes` bytes of rows.
   */
  private take(): { parts: Part[]; events: number } {
    const { batchMaxEvents, batchMaxBytes } = this.options
    let events = 0
    let bytes = 0
    let n = 0
    for (; n < this.queue.length; n++) {
      const part = this.queue[n]!
      const fits =
        events + part.events <= batchMaxEvents && bytes + part.rows.length <= batchMaxBytes
      if (n > 0 && !fits) break
      events += part.events
      bytes += part.rows.length
    }
    return { parts: this.queue.splice(0, n), events }
  }

  private async flush(): Promise<void> {
    this.move('scheduled', 'flushing')
    const { parts, events } = this.take()
    this.queued -= events
    this.batching = events
    const listSaved = this.log.isLevelEnabled('debug')
    if (listSaved) logEach(this.log, parts, 'Processing event')
    await this.store(parts, listSaved)
    this.move('flushing', 'idle')
    if (this.queue.length > 0) this.schedule()
    else for (const wake of this.idleWaiters.splice(0)) wake()
  }

  /**
   * Stores `parts` as one batch, or, when the worker says its failure may lie in what it holds,
   * as two halves, each split again if it fails the same way. Every part is tried alone before
   * it fails for its content. The halves share the batch's retry budget (`DB_RETRY_MS` from its
   * first attempt): once it is spent, each gets one attempt, so a poisonous part costs the
   * others about one `DB_TIMEOUT_MS` per halving. A failure that is not the batch's (the store
   * is unavailable) fails every part not yet stored: splitting would only wait longer.
   */
  private async store(parts: Part[], listSaved: boolean): Promise<void> {
    const until = performance.now() + this.options.worker.retryMs
    const pending = [parts]
    let unavailable: Refusal | null = null
    for (let batch = pending.shift(); batch !== undefined; batch = pending.shift()) {
      const events = sum(batch)
      const report = {
        shard: this.index,
        parts: batch.length,
        events,
        topics: batch.map((part) => part.topics),
      }
      const started = performance.now()
      const result: FlushCommitted | Refusal =
        unavailable ?? (await this.run(batch, listSaved, until))
      if (result.committed) {
        this.release(batch, events)
        const unique = this.settle(batch, result)
        const { ms, attempts } = result
        this.record({ ...report, unique, duplicates: events - unique, ms, attempts })
        if (listSaved) logOutcome(this.log, batch, result.saved)
      } else if (result.divisible && batch.length > 1) {
        const half = Math.ceil(batch.length / 2)
        pending.unshift(batch.slice(0, half), batch.slice(half))
        this.log.warn(
          { err: result.cause, events, parts: batch.length },
          'batch failed for what it holds; storing its halves apart',
        )
      } else {
        this.release(batch, events)
        if (!result.divisible) unavailable = result
        const failed = new BatchFailed({ cause: result.cause })
        for (const part of batch) part.ticket.partFailed(failed)
        const ms = performance.now() - started
        this.record({ ...report, unique: 0, duplicates: 0, ms, attempts: 0, failed })
      }
    }
  }

  /** Lets go of a settled batch's events and rows, before its requests hear of it. */
  private release(parts: Part[], events: number): void {
    this.batching -= events
    this.heldBytes -= byteSize(parts)
  }

  /** One batch at the worker; a worker that dies fails it, and what is left of its split. */
  private async run(
    parts: Part[],
    listSaved: boolean,
    until: number,
  ): Promise<FlushCommitted | Refusal> {
    const rows = concat(parts)
    const retryMs = Math.max(0, until - performance.now())
    try {
      const result = await this.pool.run(
        { rows, listSaved, retryMs },
        { transferList: [rows.buffer] },
      )
      if (result.committed) return result
      const { reason, divisible } = result
      return { committed: false, cause: new WriteGaveUp(reason), divisible }
    } catch (cause) {
      return { committed: false, cause, divisible: false }
    }
  }

  /** Tells each part's ticket how many of its events were new; returns the batch's total. */
  private settle(parts: Part[], result: FlushCommitted): number {
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

function sum(parts: Part[]): number {
  let events = 0
  for (const part of parts) events += part.events
  return events
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
