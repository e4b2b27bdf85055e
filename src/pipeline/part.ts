/**
 * A part: one shard's share of one request, at most `batchMaxEvents` events, already encoded in
 * the store's row format. A shard's batch is whole parts; each part answers to its request's
 * ticket.
 */
import type { EventRecord } from '../db/store.js'
import type { Ticket } from './ticket.js'

export type Key = [topic: string, eventId: string]

export class Part {
  constructor(
    readonly id: number,
    readonly ticket: Ticket,
    /** This part's rows, already UTF-8: encoded once, never copied as a string again. */
    readonly rows: Buffer,
    readonly events: number,
    /** Kept only when per-event debug logs are on. */
    readonly keys: Key[] | null,
    /** Events per topic: what the dashboard's most active topics are counted from. */
    readonly topics: ReadonlyMap<string, number>,
  ) {}
}

/** Collects one part's rows while a request is split, then yields the part. */
export class PartBuilder {
  events = 0
  private rows = ''
  private readonly keys: Key[] | null
  private readonly topics = new Map<string, number>()

  constructor(
    readonly id: number,
    keepKeys: boolean,
  ) {
    this.keys = keepKeys ? [] : null
  }

  /** Adds one event's row; returns how many events the part now holds. */
  add(row: string, event: EventRecord): number {
    this.rows += row
    this.keys?.push([event.topic, event.event_id])
    this.topics.set(event.topic, (this.topics.get(event.topic) ?? 0) + 1)
    return ++this.events
  }

  build(ticket: Ticket): Part {
    return new Part(this.id, ticket, Buffer.from(this.rows), this.events, this.keys, this.topics)
  }
}
