/**
 * PostgreSQL's COPY text format: columns split by tab, rows by newline, and backslash escapes.
 * Only four characters need escaping (NUL never reaches here: the edge rejects it), so every
 * value round-trips byte for byte and the literal text `\N` stays text, not NULL.
 */
import type { EventRecord } from './store.js'

const SPECIAL = /[\\\t\n\r]/
const SPECIAL_ALL = /[\\\t\n\r]/g
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }

export function copyEscape(value: string): string {
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : value
}

/** One staging row: the part (request share) it belongs to, then the event's columns. */
export function stagingRow(part: number, event: EventRecord): string {
  return (
    `${part}\t${copyEscape(event.topic)}\t${copyEscape(event.event_id)}\t` +
    `${copyEscape(event.timestamp)}\t${copyEscape(event.source)}\t` +
    `${copyEscape(event.payload)}\n`
  )
}
