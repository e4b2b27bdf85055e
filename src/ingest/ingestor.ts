/**
 * Publishing, independent of HTTP: validate a body, admit its events to the pipeline, and, for
 * a durable acknowledgement, wait until every one is committed.
 */
import type { AckMode } from '../config.js'
import type { EventRecord } from '../db/store.js'
import type { Stored, Ticket } from '../pipeline/ticket.js'
import type { EdgeCounters } from '../stats/edge.js'
import type { BodyFormat } from './formats.js'
import { parsePublishBody, type Rejection } from './request.js'

export type PublishResult =
  | { kind: 'rejected'; rejection: Rejection }
  | { kind: 'busy'; message: string }
  | { kind: 'queued'; accepted: number }
  | { kind: 'stored'; stored: Stored }
  | { kind: 'failed'; message: string }
  /** Not committed within the deadline: the events stay in the pipeline, the client is freed. */
  | { kind: 'late'; message: string }

const STORE_FAILED = 'the events could not be stored; retry after the indicated delay'

export interface Pipeline {
  admit(events: readonly EventRecord[]): Ticket | null
}

export class Ingestor {
  constructor(
    private readonly pipeline: Pipeline,
    private readonly edge: EdgeCounters,
    private readonly maxEventsPerRequest: number,
    /** Longest a durable request waits for its commit (ACK_TIMEOUT_MS). */
    private readonly ackTimeoutMs: number,
  ) {}

  async publish(body: Uint8Array, format: BodyFormat, ack: AckMode): Promise<PublishResult> {
    const parsed = parsePublishBody(body, this.maxEventsPerRequest, format)
    if (!parsed.ok) {
      this.edge.refusedEvents(parsed.rejection.error, parsed.rejection.events)
      return { kind: 'rejected', rejection: parsed.rejection }
    }
    const ticket = this.pipeline.admit(parsed.events)
    if (ticket === null) {
      return { kind: 'busy', message: 'queues are full; retry after the indicated delay' }
    }
    this.edge.accepted += ticket.accepted
    if (ack === 'async') return { kind: 'queued', accepted: ticket.accepted }
    return this.committed(ticket)
  }

  /**
   * The ticket's outcome, or `late` at the deadline. A late ticket is not cancelled: its events
   * are committed (and counted) when the store moves again, which is why a resend is safe.
   */
  private async committed(ticket: Ticket): Promise<PublishResult> {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<PublishResult>((resolve) => {
      timer = setTimeout(resolve, this.ackTimeoutMs, {
        kind: 'late',
        message: `the events were not committed within ACK_TIMEOUT_MS (${this.ackTimeoutMs} ms); they may still be stored, and a resend is safe: copies are dropped by event_id`,
      })
    })
    try {
      return await Promise.race([
        ticket.done.then((stored): PublishResult => ({ kind: 'stored', stored })),
        late,
      ])
    } catch {
      // the cause (logged by the shard) may quote the database: the client gets a fixed text
      return { kind: 'failed', message: STORE_FAILED }
    } finally {
      clearTimeout(timer)
    }
  }
}
