/**
 * The body formats a publish accepts, in one table: the media types that select each, how a body
 * in it splits into items, and how the API document describes it. Adding a format is one entry
 * here; the edge's content negotiation and the OpenAPI request body derive from the table.
 */
import type { Rejection } from './request.js'

export interface Items {
  items: unknown[]
  /** Each item's line in the body, from 1, for formats that have lines (NDJSON); else null. */
  lines: number[] | null
}

export interface Format {
  /** The canonical media type: error messages and the API document name it. */
  mediaType: string
  /** Every `Content-Type` that selects the format (parameters such as `charset` ignored). */
  matches: RegExp
  /**
   * The key under which a top-level object wraps an array of events, or null where every
   * top-level object is an event: what the body scan needs to find the events' payloads.
   */
  eventsKey: string | null
  /** The body's items, not yet validated, or why the body cannot be read as this format. */
  split(text: string): Items | Rejection
  /** The OpenAPI schema of a body in this format, given a reference to the event schema. */
  schema(event: object): object
  /** A body in this format holding one event, for the API document. */
  example(event: unknown): unknown
}

/** `{"events": [...]}` */
const EVENTS_KEY = 'events'

const json: Format = {
  mediaType: 'application/json',
  matches: /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i,
  eventsKey: EVENTS_KEY,
  split(text) {
    let document: unknown
    try {
      document = JSON.parse(text)
    } catch (error) {
      return malformed((error as Error).message)
    }
    const items = unwrap(document)
    if (items !== null) return { items, lines: null }
    return {
      error: 'invalid_body',
      message: 'body must be an event object, an array of events, or {"events": [...]}',
      events: 1,
    }
  },
  schema: (event) => ({
    oneOf: [
      event,
      { type: 'array', items: event },
      {
        type: 'object',
        required: [EVENTS_KEY],
        properties: { [EVENTS_KEY]: { type: 'array', items: event } },
      },
    ],
  }),
  example: (event) => event,
}

/** Blank lines are skipped; each event keeps its line number for the answer's issues. */
const ndjson: Format = {
  mediaType: 'application/x-ndjson',
  matches: /^application\/(?:x-ndjson|jsonl|x-jsonlines)\s*(?:;|$)/i,
  eventsKey: null,
  split(text) {
    const items: unknown[] = []
    const lines: number[] = []
    const sources = text.split('\n')
    for (let line = 0; line < sources.length; line++) {
      const source = sources[line]!.trim()
      if (source === '') continue
      try {
        items.push(JSON.parse(source))
        lines.push(line + 1)
      } catch (error) {
        return malformed(`line ${line + 1}: ${(error as Error).message}`)
      }
    }
    return { items, lines }
  },
  schema: () => ({ type: 'string', description: 'One event per line; blank lines are skipped' }),
  example: (event) => `${JSON.stringify(event)}\n`,
}

/** In order of preference; the first is assumed when a request names no type. */
export const FORMATS = { json, ndjson } as const

export type BodyFormat = keyof typeof FORMATS

export function malformed(reason: string): Rejection {
  return { error: 'malformed_json', message: `malformed JSON: ${reason}`, events: 1 }
}

/** One event, an array of events, or `{"events": [...]}`. */
function unwrap(document: unknown): unknown[] | null {
  if (Array.isArray(document)) return document as unknown[]
  if (typeof document !== 'object' || document === null) return null
  const events = (document as Record<string, unknown>)[EVENTS_KEY]
  if (events === undefined) return [document]
  return Array.isArray(events) ? (events as unknown[]) : null
}
