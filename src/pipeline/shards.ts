/**
 * The pipeline's front door: admits a validated request if the queues have room, splits its
 * events by key into per-shard parts, and hands back a ticket that settles when they are stored.
 */
import type { EventRecord, Store } from '../db/store.js'
import type { Logger } from '../log.js'
import { PartBuilder } from './part.js'
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

  /** No request can be admitted now: worth refusing before its body is even read. */
  get full(): boolean {
    return this.queued >= this.options.queueMaxEvents
  }

  private sum(count: (shard: Shard) => number): number {
    let total = 0
    for (const shard of this.shards) total += count(shard)
    return total
  }

  /** `null` when the queues cannot take these events now (the caller answers 503). */
  admit(events: readonly EventRecord[]): Ticket | null {
    const { batchMaxEvents, log, store } = this.options
    if (this.queued + events.length > this.options.queueMaxEvents) return null
    const ticket = new Ticket(events.length)
    const debug = log.isLevelEnabled('debug')
    const building = new Array<PartBuilder | null>(this.shards.length).fill(null)
    for (const event of events) {
      const s = shardOf(event.topic, event.event_id, this.shards.length)
      const part = (building[s] ??= new PartBuilder(this.nextPartId++, debug))
      if (debug) log.debug({ topic: event.topic, event_id: event.event_id }, 'Enqueued event')
      if (part.add(store.row(part.id, event), event) === batchMaxEvents) {
        this.send(s, part, ticket)
        building[s] = null
      }
    }
    building.forEach((part, s) => {
      if (part !== null) this.send(s, part, ticket)
    })
    ticket.seal()
    return ticket
  }

  private send(shard: number, part: PartBuilder, ticket: Ticket): void {
    ticket.addPart()
    this.shards[shard]!.enqueue(part.build(ticket))
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
