/**
 * Events cut into request bodies (JSON arrays) by count and by bytes, each event serialised once.
 * Bytes are counted before gzip: the server's BODY_LIMIT_BYTES bounds the inflated body too.
 */
import type { PublishEvent } from './events.js'

export interface BatchLimits {
  /** Most events in one request (the server refuses more than MAX_EVENTS_PER_REQUEST). */
  events: number
  /** Most bytes of JSON in one request; an event larger than this alone goes alone. */
  bytes: number
}

export const DEFAULT_BATCH: BatchLimits = { events: 500, bytes: 1024 * 1024 }

export interface Batch {
  body: string
  events: number
}

export function* batches(events: Iterable<PublishEvent>, limits: BatchLimits): Generator<Batch> {
  let parts: string[] = []
  let bytes = 2 // the brackets
  for (const event of events) {
    const json = JSON.stringify(event)
    const size = Buffer.byteLength(json) + 1 // and a comma
    if (parts.length > 0 && (parts.length >= limits.events || bytes + size > limits.bytes)) {
      yield { body: `[${parts.join(',')}]`, events: parts.length }
      parts = []
      bytes = 2
    }
    parts.push(json)
    bytes += size
  }
  if (parts.length > 0) yield { body: `[${parts.join(',')}]`, events: parts.length }
}
