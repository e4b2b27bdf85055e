/**
 * Turns a publish body into validated events, all or nothing. Bad input is a value (a
 * `Rejection` with a stable code from src/errors.ts, which gives its HTTP status), never an
 * exception.
 */
import * as v from 'valibot'
import type { EventRecord } from '../db/store.js'
import type { ErrorCode } from '../errors.js'
import { scanBody } from './body-scan.js'
import { EventSchema, type Event } from './event.js'
import { FORMATS, malformed, type BodyFormat } from './formats.js'

export interface Issue {
  /** The event's position in the request, from 0. */
  index: number
  /** For NDJSON bodies: the event's line, from 1. */
  line?: number
  path: string
  message: string
}

/** `events` is how many events the request is refused with; a body that does not parse counts one. */
export type Rejection =
  | {
      error: Extract<
        ErrorCode,
        'malformed_json' | 'duplicate_key' | 'invalid_body' | 'body_too_complex' | 'too_many_events'
      >
      message: string
      events: number
    }
  | { error: Extract<ErrorCode, 'validation'>; message: string; events: number; issues: Issue[] }

export type Parsed = { ok: true; events: EventRecord[] } | { ok: false; rejection: Rejection }

/** Stops collecting issues here: a hostile batch must not make the error response huge. */
const MAX_ISSUES = 100

const utf8 = new TextDecoder('utf-8', { fatal: true })

export function parsePublishBody(
  body: Uint8Array,
  maxEvents: number,
  format: BodyFormat = 'json',
): Parsed {
  let text: string
  try {
    text = utf8.decode(body)
  } catch {
    return fail(malformed('body is not valid UTF-8'))
  }
  // before the parse: the limits bound what the parse builds
  const scan = scanBody(text, FORMATS[format].eventsKey)
  if (scan.excess !== null) {
    return fail({ error: 'body_too_complex', message: scan.excess, events: 1 })
  }
  const parsed = FORMATS[format].split(text)
  if (!('items' in parsed)) return fail(parsed)
  const { items, lines } = parsed
  if (scan.repeatedKey !== null) {
    return fail({
      error: 'duplicate_key',
      message: `key ${JSON.stringify(scan.repeatedKey)} appears twice in one object; which one is meant is ambiguous`,
      events: 1,
    })
  }
  if (items.length > maxEvents) {
    return fail({
      error: 'too_many_events',
      message: `a request may carry at most ${maxEvents} events, this one has ${items.length}`,
      events: items.length,
    })
  }
  return validate(items, lines, scan.payloads)
}

function validate(
  items: unknown[],
  lines: number[] | null,
  payloads: (string | undefined)[],
): Parsed {
  const events = new Array<EventRecord>(items.length)
  const issues: Issue[] = []
  let rejected = 0
  for (let index = 0; index < items.length; index++) {
    const result = v.safeParse(EventSchema, items[index])
    if (result.success) {
      events[index] = record(result.output, payloads[index])
      continue
    }
    rejected++
    for (const issue of result.issues) {
      if (issues.length === MAX_ISSUES) break
      const path = v.getDotPath(issue) ?? ''
      const message = describe(issue)
      issues.push(
        lines === null ? { index, path, message } : { index, line: lines[index]!, path, message },
      )
    }
  }
  if (rejected > 0) {
    return fail({
      error: 'validation',
      message: `${rejected} of ${items.length} events are invalid; none was accepted`,
      events: items.length,
      issues,
    })
  }
  // every item is an event object here, which is all the scan needs to have found them all
  if (payloads.length !== items.length) {
    throw new Error(`the body scan found ${payloads.length} events, the parse ${items.length}`)
  }
  return { ok: true, events }
}

/** A validated event, its payload the text it was published as (the schema's default if none). */
function record(event: Event, payload: string | undefined): EventRecord {
  const { topic, event_id, timestamp, source } = event
  return { topic, event_id, timestamp, source, payload: payload ?? JSON.stringify(event.payload) }
}

/** valibot words a missing key as a type mismatch; producers understand "is required" better. */
function describe(issue: v.BaseIssue<unknown>): string {
  if (issue.type !== 'object') return issue.message
  return issue.path === undefined ? 'must be an event object' : 'is required'
}

const fail = (rejection: Rejection) => ({ ok: false, rejection }) as const
