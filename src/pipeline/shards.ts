/**
 * The pipeline's front door: admits a validated request if the queues have room, splits its
 * events by key into per-shard parts, and hands back a ticket that settles when they are stored.
 */
import type { EventRecord, Store } from '../db/store.js'
import type { Logger } from '../log.js'
import { PartBuilder, type Part } from './part.js'
import type { WorkerConfig } from './protocol.js'
import { shardOf } from './route.js'
import { Shard, type ShardOptions, type ShardStats } from './shard.js'
import { Ticket } from './ticket.js'

export interface ShardsOptions extends Pick<ShardOptions, 'onBatch' | 'workerFile'> {
  /** Encodes the rows here; each worker resolves it by name. */
  store: Store
  shards: number
  batchMaxEvents: number
  batchMaxBytes: number
  flushIntervalMs: number
  queueMaxEvents: number
  /** Most bytes of rows the shards hold, queued or being stored (QUEUE_MAX_BYTES). */
  queueMaxBytes: number
  worker: Omit<WorkerConfig, 'shard' | 'store'>
  log: Logger
}

export class Shards {
  private readonly shards: Shard[]
  private nextPartId = 1

  constructor(private readonly options: ShardsOptions) {
    this.shards = Array.from(
      { length: options.shards },
      (_, shard) =>
        new Shard({
          onBatch: options.onBatch,
          batchMaxEvents: options.batchMaxEvents,
          batchMaxBytes: options.batchMaxBytes,
          flushIntervalMs: options.flushIntervalMs,
          worker: { ...options.worker, store: options.store.name, shard },
          workerFile: options.workerFile,
          log: options.log,
        }),
    )
  }

  /** Events waiting in the queues, not yet handed to a worker. */
  get queued(): number {
    return this.sum((shard) => shard.queued)
  }

  /** Accepted events not yet settled: queued, or in a batch being stored. */
  get inFlight(): number {
    return this.sum((shard) => shard.inFlight)
  }

  /** Bytes of rows held by the shards: queued, or in a batch being stored. */
  get heldBytes(): number {
    return this.sum((shard) => shard.heldBytes)
  }

  /** The share of the queue limits in use, by events or by bytes, whichever is larger. */
  get fill(): number {
    const { queueMaxEvents, queueMaxBytes } = this.options
    return Math.max(this.queued / queueMaxEvents, this.heldBytes / queueMaxBytes)
  }

  /** No request can be admitted now: worth refusing before its body is even read. */
  get full(): boolean {
    return this.fill >= 1
  }

  private sum(count: (shard: Shard) => number): number {
    let total = 0
    for (const shard of this.shards) total += count(shard)
    return total
  }

  /**
   * `null` when the queues cannot take these events now (the caller answers 503). The rows are
   * encoded before the byte check; shards that hold nothing admit any request, however large, so
   * one bigger than QUEUE_MAX_BYTES is stored alone instead of refused forever.
   */
  admit(events: readonly EventRecord[]): Ticket | null {
    const { batchMaxEvents, log, store, queueMaxBytes } = this.options
    if (this.queued + events.length > this.options.queueMaxEvents) return null
    const ticket = new Ticket(events.length)
    const debug = log.isLevelEnabled('debug')
    const building = new Array<PartBuilder | null>(this.shards.length).fill(null)
    const parts: [number, Part][] = []
    let bytes = 0
    const built = (s: number, builder: PartBuilder) => {
      const part = builder.build(ticket)
      bytes += part.rows.length
      parts.push([s, part])
    }
    for (const event of events) {
      const s = shardOf(event.topic, event.event_id, this.shards.length)
      const part = (building[s] ??= new PartBuilder(this.nextPartId++, debug))
      if (part.add(store.row(part.id, event), event) === batchMaxEvents) {
        built(s, part)
        building[s] = null
      }
    }
    building.forEach((part, s) => {
      if (part !== null) built(s, part)
    })
    const held = this.heldBytes
    if (held > 0 && held + bytes > queueMaxBytes) return null
    for (const [s, part] of parts) {
      if (debug) logEnqueued(log, part)
      ticket.addPart()
      this.shards[s]!.enqueue(part)
    }
    ticket.seal()
    return ticket
  }

  stats(): ShardStats[] {
    return this.shards.map((shard) => shard.stats())
  }

  get workersUp(): boolean {
    return this.shards.every((shard) => shard.workerUp)
  }

  /** Waits until every accepted event is stored or failed, then stops the workers. */
  async close(): Promise<void> {
    await Promise.all(this.shards.map((shard) => shard.close()))
  }
}

function logEnqueued(log: Logger, part: Part): void {
  for (const [topic, event_id] of part.keys ?? []) log.debug({ topic, event_id }, 'Enqueued event')
}
