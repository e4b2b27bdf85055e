/**
 * The event as producers publish it: one valibot schema, the single definition the edge validates
 * with and the rest of the code derives its types from.
 */
import * as v from 'valibot'

export const MAX_FIELD_LENGTH = 255
/** Deep enough for any real document, shallow enough that walking it cannot exhaust the stack. */
export const MAX_PAYLOAD_DEPTH = 64

const field = v.pipe(
  v.string('must be a string'),
  v.minLength(1, 'must not be empty'),
  v.maxLength(MAX_FIELD_LENGTH, `must be at most ${MAX_FIELD_LENGTH} characters`),
  v.check(isStorableString, 'must not contain \\u0000 or lone surrogates'),
)

/**
 * ISO 8601 / RFC 3339 with a zone. Four-digit years keep every accepted value inside
 * PostgreSQL's timestamptz range, so a batch can never fail on a cast.
 */
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):?(\d{2}))$/

export function timestampProblem(value: string): string | null {
  const m = TIMESTAMP.exec(value)
  if (m === null) {
    return /^[+-]\d{5,}/.test(value)
      ? 'must have a four-digit year (0001-9999)'
      : 'must be an ISO 8601 date-time with a time zone, e.g. 2025-10-21T10:00:00.000Z'
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[]
  const daysInMonth = new Date(Date.UTC(2000, month!, 0)).getUTCDate()
  const leapFeb = month === 2 && day === 29 && !isLeap(year!)
  if (year! < 1) return 'must have a year from 0001 to 9999'
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth || leapFeb)
    return 'is not a calendar date'
  if (hour! > 23 || minute! > 59 || second! > 59) return 'is not a valid time of day'
  if (m[7] !== undefined && (Number(m[8]) > 15 || Number(m[9]) > 59))
    return 'has an invalid zone offset'
  return null
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0

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

export const EventSchema = v.object({
  topic: field,
  event_id: field,
  timestamp,
  source: field,
  payload: v.optional(payload, () => ({})),
})

export type Event = v.InferOutput<typeof EventSchema>

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** PostgreSQL text cannot hold NUL, and UTF-8 cannot hold a lone UTF-16 surrogate. */
export function isStorableString(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed()
}

function payloadProblem(value: unknown, depth: number): string | null {
  if (depth > MAX_PAYLOAD_DEPTH) return `is nested deeper than ${MAX_PAYLOAD_DEPTH} levels`
  if (typeof value === 'string') {
    return isStorableString(value) ? null : 'contains \\u0000 or a lone surrogate'
  }
  if (typeof value !== 'object' || value === null) return null
  for (const [key, item] of Object.entries(value)) {
    if (!isStorableString(key)) return 'has a key containing \\u0000 or a lone surrogate'
    const problem = payloadProblem(item, depth + 1)
    if (problem !== null) return problem
  }
  return null
}
