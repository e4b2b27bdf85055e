/** Query-string parameters, validated with the same valibot conventions as events. */
import * as v from 'valibot'
import { field } from '../ingest/event.js'

export const MAX_PAGE = 10_000
export const DEFAULT_PAGE = 1_000
/** Longest long poll of `GET /events`, in seconds. */
export const MAX_WAIT_S = 60

const whole = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d{1,15}$/, 'must be a whole number'),
    v.transform(Number),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  )

export const EventsQuerySchema = v.object({
  // the rule an event's topic passes when published: a topic no event can have is refused here,
  // not sent to the database to fail there
  topic: v.optional(field),
  limit: v.optional(whole(1, MAX_PAGE), String(DEFAULT_PAGE)),
  // checked as a cursor by the handler: a malformed one is `invalid_cursor`, not `invalid_query`
  after: v.optional(v.string()),
  wait: v.optional(whole(0, MAX_WAIT_S), '0'),
})

export const StreamQuerySchema = v.pick(EventsQuerySchema, ['topic', 'after'])

export const TopicsQuerySchema = v.object({
  // a topic name, or '' for the first page: checked as a topic is, so the database gets it valid
  after: v.optional(v.union([v.literal(''), field]), ''),
  limit: v.optional(whole(1, MAX_PAGE), String(DEFAULT_PAGE)),
})

export const PublishQuerySchema = v.object({
  ack: v.optional(v.picklist(['async', 'durable'], 'must be async or durable')),
})

/** Repeated keys are refused rather than silently resolved one way or the other. */
export function parseQuery<S extends v.GenericSchema>(
  schema: S,
  raw: string,
): { ok: true; value: v.InferOutput<S> } | { ok: false; message: string } {
  const params = new URLSearchParams(raw)
  const input: Record<string, string> = {}
  for (const [key, value] of params) {
    if (key in input) return { ok: false, message: `parameter ${key} is given more than once` }
    input[key] = value
  }
  const result = v.safeParse(schema, input)
  if (result.success) return { ok: true, value: result.output }
  const issue = result.issues[0]
  return { ok: false, message: `${v.getDotPath(issue) ?? 'query'} ${issue.message}` }
}
