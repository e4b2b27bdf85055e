/**
 * The OpenAPI 3.0 document for `/openapi.json`, generated from the valibot schemas the edge
 * validates with (events, query strings), so the documentation cannot drift from the checks.
 * The answers' shapes are described here, once.
 */
import { toJsonSchema, type JsonSchema } from '@valibot/to-json-schema'
import type * as v from 'valibot'
import { DocumentedEventSchema } from '../ingest/event.js'
import { EventsQuerySchema, PublishQuerySchema } from './query.js'

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

/** Query parameters, one per entry of a valibot object schema. */
function parameters(
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

const error = (description: string, codes: string[]) => ({
  description,
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['error', 'message'],
        properties: { error: { type: 'string', enum: codes }, message: { type: 'string' } },
      },
    },
  },
})

const RETRY = { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait' } }

export function openApiDocument(version: string): Json {
  const event = convert(DocumentedEventSchema)
  const ref = { $ref: '#/components/schemas/Event' }
  const publish = {
    summary: 'Publish one event, a batch, or NDJSON; all or nothing',
    parameters: parameters(PublishQuerySchema, {
      ack: 'durable: answer 200 after commit; async: 202 once queued. Default: ACK_MODE.',
    }),
    requestBody: {
      required: true,
      content: {
        'application/json': {
          schema: {
            oneOf: [
              ref,
              { type: 'array', items: ref },
              {
                type: 'object',
                required: ['events'],
                properties: { events: { type: 'array', items: ref } },
              },
            ],
          },
        },
        'application/x-ndjson': {
          schema: { type: 'string', description: 'One event per line; blank lines are skipped' },
        },
      },
    },
    responses: {
      '200': {
        description: 'Every event is committed (durable)',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: {
                status: { type: 'string', enum: ['accepted'] },
                accepted: { type: 'integer' },
                unique: { type: 'integer' },
                duplicates: { type: 'integer' },
              },
            },
          },
        },
      },
      '202': {
        description: 'Queued (async)',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: {
                status: { type: 'string', enum: ['queued'] },
                accepted: { type: 'integer' },
                queued: { type: 'integer' },
              },
            },
          },
        },
      },
      '400': error('Malformed body, repeated key, bad query, corrupt gzip', [
        'malformed_json',
        'duplicate_key',
        'invalid_body',
        'invalid_query',
        'malformed_gzip',
      ]),
      '401': error('AUTH_TOKENS is set and no valid bearer token was sent', ['unauthorized']),
      '408': error('The body did not arrive within BODY_TIMEOUT_MS', ['body_timeout']),
      '413': error('Body (after gzip) or event count over the limit', [
        'body_too_large',
        'too_many_events',
      ]),
      '415': error('Unsupported Content-Type or Content-Encoding', [
        'unsupported_media_type',
        'unsupported_encoding',
      ]),
      '422': {
        description: 'At least one invalid event; none was stored',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: {
                error: { type: 'string', enum: ['validation'] },
                message: { type: 'string' },
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
            },
          },
        },
      },
      '503': {
        ...error('Queues full, store failing, or shutting down', [
          'queue_full',
          'store_unavailable',
          'shutting_down',
        ]),
        headers: RETRY,
      },
    },
  }
  const json = (description: string, schema: Json) => ({
    description,
    content: { 'application/json': { schema } },
  })
  const page = (summary: string, type = 'text/html') => ({
    get: { summary, responses: { '200': { description: summary, content: { [type]: {} } } } },
  })
  return {
    openapi: '3.0.3',
    info: {
      title: 'pubsub-aggregator',
      version,
      description:
        'Ingests events at least once, stores each (topic, event_id) exactly once in PostgreSQL.',
    },
    paths: {
      '/publish': { post: publish },
      '/publish/batch': { post: { ...publish, summary: 'Same as POST /publish' } },
      '/events': {
        get: {
          summary: 'Stored events in ingestion order, a page at a time',
          parameters: parameters(EventsQuerySchema, {
            topic: 'Only this topic (default: all)',
            limit: 'Page size, 1-10000 (default 1000)',
            after: 'Cursor: X-Next-Cursor of the previous page',
          }),
          responses: {
            '200': {
              ...json('A bare array; exactly [] when nothing matches', {
                type: 'array',
                items: {
                  allOf: [
                    ref,
                    {
                      type: 'object',
                      properties: { received_at: { type: 'string', format: 'date-time' } },
                    },
                  ],
                },
              }),
              headers: {
                Link: {
                  schema: { type: 'string' },
                  description: '<…>; rel="next" when more may follow',
                },
                'X-Next-Cursor': { schema: { type: 'string' } },
              },
            },
            '400': error('Bad parameter', ['invalid_query']),
            '503': { ...error('Database unreachable', ['database_unavailable']), headers: RETRY },
          },
        },
      },
      '/stats': {
        get: {
          summary: 'Counters: global ones from PostgreSQL, plus this process’s queues',
          responses: {
            '200': json('received = unique_processed + duplicate_dropped + in_flight', {
              type: 'object',
              properties: Object.fromEntries(
                [
                  'received',
                  'unique_processed',
                  'duplicate_dropped',
                  'rejected',
                  'failed',
                  'in_flight',
                  'uptime',
                ].map((k) => [k, { type: 'integer' }]),
              ),
            }),
          },
        },
      },
      '/health': {
        get: { summary: 'Process alive', responses: { '200': json('ok', { type: 'object' }) } },
      },
      '/healthz': {
        get: { summary: 'Process alive', responses: { '200': json('ok', { type: 'object' }) } },
      },
      '/readyz': {
        get: {
          summary: 'Database reachable and every worker up',
          responses: {
            '200': json('ready', { type: 'object' }),
            '503': json('not ready', { type: 'object' }),
          },
        },
      },
      '/': page('Live dashboard'),
      '/dashboard': page('Live dashboard'),
      '/live': {
        get: {
          summary: 'WebSocket (Upgrade: websocket): one /stats snapshot per second, pushed',
          responses: {
            '101': { description: 'Switching protocols; JSON text messages follow' },
            '426': error('Not a WebSocket request', ['upgrade_required']),
          },
        },
      },
      '/metrics': page('Prometheus metrics', 'text/plain'),
      '/openapi.json': page('This document', 'application/json'),
      '/docs': page('Interactive API documentation'),
    },
    components: { schemas: { Event: event } },
  }
}
