/**
 * The event as producers publish it: one valibot schema, the single definition the edge validates
 * with and the rest of the code derives its types from.
 */
import * as v from 'valibot'
import { MAX_OBJECT_KEYS } from './body-scan.js'

export const MAX_FIELD_LENGTH = 255
/** Deep enough for any real document, shallow enough that walking it cannot exhaust the stack. */
export const MAX_PAYLOAD_DEPTH = 64

/** A string field: the rule for `topic`, `event_id` and `source`, in a body or a query string. */
export const field = v.pipe(
  v.string('must be a string'),
  v.minLength(1, 'must not be empty'),
  v.maxLength(MAX_FIELD_LENGTH, `must be at most ${MAX_FIELD_LENGTH} characters`),
  v.check(isStorableString, 'must not contain \\u0000 or lone surrogates'),
)

/**
 * ISO 8601 / RFC 3339 with a zone. Four-digit years keep every accepted value inside
 * PostgreSQL's timestamptz range, so a batch can never fail on a cast. The shape is checked by
 * a regex, the values by reading digits at fixed offsets: this runs for every event.
 */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:?\d{2})$/
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

export function timestampProblem(value: string): string | null {
  if (!TIMESTAMP.test(value)) {
    return /^[+-]?\d{5,}-/.test(value)
      ? 'must have a four-digit year (0001-9999)'
      : 'must be an ISO 8601 date-time with a time zone, e.g. 2025-10-21T10:00:00.000Z'
  }
  const year = digits(value, 0, 4)
  const month = digits(value, 5, 2)
  const day = digits(value, 8, 2)
  if (year < 1) return 'must have a year from 0001 to 9999'
  const leap = month === 2 && ((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0) ? 1 : 0
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]! + leap)
    return 'is not a calendar date'
  if (digits(value, 11, 2) > 23 || digits(value, 14, 2) > 59 || digits(value, 17, 2) > 59)
    return 'is not a valid time of day'
  const end = value.length
  const last = value.charCodeAt(end - 1)
  if (last !== 90 && last !== 122) {
    // ±hh:mm or ±hhmm
    const hours = digits(value, value.charCodeAt(end - 3) === 58 ? end - 5 : end - 4, 2)
    if (hours > 15 || digits(value, end - 2, 2) > 59) return 'has an invalid zone offset'
  }
  return null
}

function digits(text: string, at: number, length: number): number {
  let n = 0
  for (let i = at; i < at + length; i++) n = n * 10 + text.charCodeAt(i) - 48
  return n
}

const timestamp = v.pipe(
  v.string('must be a string'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return
    const problem = timestampProblem(dataset.value)
    if (problem !== null) addIssue({ message: problem })
  }),
)

const payload = v.pipe(
  v.custom<Record<string, unknown>>(isPlainObject, 'must be a JSON object'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return
    const problem = payloadProblem(dataset.value, 1)
    if (problem !== null) addIssue({ message: problem })
  }),
)

const entries = {
  topic: field,
  event_id: field,
  timestamp,
  source: field,
  payload: v.optional(payload, () => ({})),
}

export const EventSchema = v.object(entries)

const FIELD_DOCS: Record<keyof typeof entries, string> = {
  topic: 'Stream the event belongs to; with event_id, the unique key.',
  event_id: 'Producer-chosen id, unique within its topic.',
  timestamp:
    'ISO 8601 date-time with a time zone (Z or ±hh:mm), years 0001-9999. Metadata, not ordering.',
  source: 'Who produced the event.',
  payload: `Any JSON object (default {}), nested at most ${MAX_PAYLOAD_DEPTH} deep, at most ${MAX_OBJECT_KEYS} keys per object; numbers must be safe doubles.`,
}

/**
 * The same schema with its documentation, for `/openapi.json` (the examples are checked in
 * tests). Kept apart from `EventSchema`: metadata actions would add a pass per field to every
 * event validated.
 */
export const DocumentedEventSchema = v.pipe(
  v.object(
    Object.fromEntries(
      Object.entries(entries).map(([key, schema]) => [
        key,
        v.pipe(schema, v.description(FIELD_DOCS[key as keyof typeof entries])),
      ]),
    ) as v.ObjectEntries,
  ),
  v.description(
    'One event. Strings may not contain \\u0000 or lone surrogates; unknown fields are ignored.',
  ),
  v.examples([
    {
      topic: 'payment.notification',
      event_id: '3832d20e7-unique-payment-101',
      timestamp: '2025-10-21T10:00:00.000Z',
      source: 'payment-gateway-A',
      payload: { content: 'Transaction ok for user 456', metadata: { amount: 500000 } },
    },
  ]),
)

export type Event = v.InferOutput<typeof EventSchema>

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** PostgreSQL text cannot hold NUL, and UTF-8 cannot hold a lone UTF-16 surrogate. */
export function isStorableString(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed()
}

function payloadProblem(value: unknown, depth: number): string | null {
  switch (typeof value) {
    case 'string':
      return isStorableString(value) ? null : 'contains \\u0000 or a lone surrogate'
    case 'number':
      if (!Number.isFinite(value)) return 'contains a number too large for a double'
      // JSON.parse has already rounded such an integer: storing it would change the data
      return Number.isSafeInteger(value) || !Number.isInteger(value)
        ? null
        : 'contains an integer beyond ±2^53; send it as a string'
    case 'object':
      break
    default:
      return null
  }
  if (value === null) return null
  if (depth > MAX_PAYLOAD_DEPTH) return `is nested deeper than ${MAX_PAYLOAD_DEPTH} levels`
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = payloadProblem(value[i], depth + 1)
      if (problem !== null) return problem
    }
    return null
  }
  const object = value as Record<string, unknown>
  for (const key in object) {
    if (!isStorableString(key)) return 'has a key containing \\u0000 or a lone surrogate'
    const problem = payloadProblem(object[key], depth + 1)
    if (problem !== null) return problem
  }
  return null
}
