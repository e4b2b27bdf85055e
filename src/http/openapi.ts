/**
 * The OpenAPI 3.0 document for `/openapi.json`, derived so it cannot drift from the code: paths
 * and operations from the route table, parameters and the event from the valibot schemas the
 * edge validates with, error answers from the error catalogue (src/errors.ts).
 */
import { toJsonSchema, type JsonSchema } from '@valibot/to-json-schema'
import * as v from 'valibot'
import { ERROR_CODES, errorSpec, type ErrorCode } from '../errors.js'
import { DocumentedEventSchema } from '../ingest/event.js'
import { policyCodes } from './policies.js'
import type { Route } from './route.js'

type Json = Record<string, unknown>

const convert = (schema: v.GenericSchema): JsonSchema =>
  toJsonSchema(schema, {
    target: 'openapi-3.0',
    typeMode: 'input',
    errorMode: 'ignore',
    // the payload is checked by a custom schema: to JSON Schema it is simply an object
    overrideSchema: ({ valibotSchema }) =>
      valibotSchema.type === 'custom' ? { type: 'object', additionalProperties: true } : null,
  })

export const EVENT_REF = { $ref: '#/components/schemas/Event' }

/** The event schema's documented example: what Swagger UI's "Try it out" sends. */
export const EVENT_EXAMPLE: unknown = v.getExamples(DocumentedEventSchema)[0]

/**
 * The event in OpenAPI 3.0's words: a schema's example is `example` there (`examples` is 3.1's,
 * and Swagger UI reading a 3.0 document ignores it, filling "Try it out" with `"string"`).
 */
function eventSchema(): Json {
  const { examples: _examples, ...schema } = convert(DocumentedEventSchema)
  return { ...schema, example: EVENT_EXAMPLE }
}

/** Query parameters, one per entry of a valibot object schema. */
export function parameters(
  schema: { entries: Record<string, v.GenericSchema> },
  notes: Record<string, string>,
) {
  return Object.entries(schema.entries).map(([name, entry]) => ({
    name,
    in: 'query',
    required: false,
    description: notes[name],
    schema: convert(entry),
  }))
}

export const json = (description: string, schema: Json) => ({
  description,
  content: { 'application/json': { schema } },
})

/** An operation answering 200 with a page or a document of `type`. */
export const page = (summary: string, type = 'text/html') => ({
  summary,
  responses: { '200': { description: summary, content: { [type]: {} } } },
})

const RETRY = { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait' } }

/** Body fields some codes add after `error` and `message`. */
const DETAIL: Partial<Record<ErrorCode, Json>> = {
  validation: {
    issues: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          index: { type: 'integer' },
          line: { type: 'integer', description: 'NDJSON bodies only' },
          path: { type: 'string' },
          message: { type: 'string' },
        },
      },
    },
  },
}

/** One response per status among `codes`, each listing its codes and what they mean. */
function errorAnswers(codes: readonly ErrorCode[]): Record<string, Json> {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of ERROR_CODES.filter((c) => codes.includes(c))) {
    const status = errorSpec(code).status
    byStatus.set(status, [...(byStatus.get(status) ?? []), code])
  }
  const answers: Record<string, Json> = {}
  for (const [status, group] of byStatus) {
    const retry = group.some((code) => errorSpec(code).retryAfter !== undefined)
    answers[status] = {
      ...json(group.map((code) => `- \`${code}\`: ${errorSpec(code).meaning}`).join('\n'), {
        type: 'object',
        required: ['error', 'message'],
        properties: {
          error: { type: 'string', enum: group },
          message: { type: 'string' },
          ...Object.assign({}, ...group.map((code) => DETAIL[code])),
        },
      }),
      ...(retry ? { headers: RETRY } : {}),
    }
  }
  return answers
}

export function openApiDocument(routes: readonly Route[], version: string): Json {
  const paths: Record<string, Record<string, Json>> = {}
  for (const route of routes) {
    if (route.openapi === null) continue
    const { responses, ...operation } = route.openapi
    const errors = errorAnswers([...route.errors, ...policyCodes(route)])
    paths[route.path] = {
      ...paths[route.path],
      [route.method.toLowerCase()]: { ...operation, responses: { ...responses, ...errors } },
    }
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'pubsub-aggregator',
      version,
      description:
        'Ingests events at least once, stores each (topic, event_id) exactly once in PostgreSQL.',
    },
    paths,
    components: { schemas: { Event: eventSchema() } },
  }
}
