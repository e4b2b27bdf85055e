/**
 * Publishing, independent of HTTP: validate a body, admit its events to the pipeline, and, for
 * a durable acknowledgement, wait until every one is committed.
 */
import type { AckMode } from '../config.js'
import type { Stored, Ticket } from '../pipeline/ticket.js'
import type { EdgeCounters } from '../stats/stats.js'
import type { Event } from './event.js'
import type { BodyFormat } from './formats.js'
import { parsePublishBody, type Rejection } from './request.js'

export type PublishResult =
  | { kind: 'rejected'; rejection: Rejection }
  | { kind: 'busy'; message: string }
  | { kind: 'queued'; accepted: number }
  | { kind: 'stored'; stored: Stored }
  | { kind: 'failed'; message: string }

const STORE_FAILED = 'the events could not be stored; retry after the indicated delay'

export interface Pipeline {
  admit(events: readonly Event[]): Ticket | null
}

export class Ingestor {
  constructor(
    private readonly pipeline: Pipeline,
    private readonly edge: EdgeCounters,
    private readonly maxEventsPerRequest: number,
  ) {}

  async publish(body: Uint8Array, format: BodyFormat, ack: AckMode): Promise<PublishResult> {
    const parsed = parsePublishBody(body, this.maxEventsPerRequest, format)
    if (!parsed.ok) {
      this.edge.reject(parsed.rejection.error, parsed.rejection.events)
      return { kind: 'rejected', rejection: parsed.rejection }
    }
    const ticket = this.pipeline.admit(parsed.events)
    if (ticket === null) {
      return { kind: 'busy', message: 'queues are full; retry after the indicated delay' }
    }
    this.edge.accepted += ticket.accepted
    if (ack === 'async') return { kind: 'queued', accepted: ticket.accepted }
    try {
      return { kind: 'stored', stored: await ticket.done }
    } catch {
      // the cause (logged by the shard) may quote the database: the client gets a fixed text
      return { kind: 'failed', message: STORE_FAILED }
    }
  }
}
