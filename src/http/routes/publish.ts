/** `POST /publish` and `POST /publish/batch`: one body of events, all accepted or none. */
import type { HttpRequest } from 'uWebSockets.js'
import { FORMATS } from '../../ingest/formats.js'
import type { PublishResult } from '../../ingest/ingestor.js'
import { readBody } from '../body.js'
import { bodyFormat, decodeBody, isCompressed } from '../encoding.js'
import { internalError } from '../failures.js'
import { EVENT_EXAMPLE, EVENT_REF, json, parameters } from '../openapi.js'
import { PublishQuerySchema, parseQuery } from '../query.js'
import type { Exchange } from '../respond.js'
import type { HttpEndpoint, Operation, RouteContext } from '../route.js'

function handle(ex: Exchange, req: HttpRequest, { services, options }: RouteContext): void {
  if (services.full()) {
    // cheapest possible refusal under overload: the body is never read
    ex.fail('queue_full', 'queues are full; retry after the indicated delay')
    return
  }
  const format = bodyFormat(req.getHeader('content-type'))
  if (typeof format !== 'string') {
    ex.fail(format.error, format.message)
    return
  }
  const encoding = req.getHeader('content-encoding')
  const query = parseQuery(PublishQuerySchema, req.getQuery() ?? '')
  if (!query.ok) {
    ex.fail('invalid_query', query.message)
    return
  }
  const ack = query.value.ack ?? options.ackMode
  readBody(
    ex,
    req,
    options,
    (raw) =>
      decodeBody(raw, encoding, options.bodyLimitBytes, (body) => {
        if (!(body instanceof Uint8Array)) return ex.fail(body.error, body.message)
        services.publish(body, format, ack).then(
          (result) => answer(ex, result),
          (error: unknown) => internalError(ex, options.log, error),
        )
      }),
    // a compressed body may inflate up to the cap: its budget holds that copy too
    isCompressed(encoding) ? options.bodyLimitBytes : 0,
  )
}

function answer(ex: Exchange, result: PublishResult): void {
  switch (result.kind) {
    case 'rejected': {
      const { error, message, events: _events, ...detail } = result.rejection
      ex.fail(error, message, { detail })
      return
    }
    case 'busy':
      ex.fail('queue_full', result.message)
      return
    case 'failed':
      ex.fail('store_unavailable', result.message)
      return
    case 'late':
      ex.fail('ack_timeout', result.message)
      return
    case 'queued':
      ex.json(
        202,
        JSON.stringify({ status: 'queued', accepted: result.accepted, queued: result.accepted }),
      )
      return
    case 'stored':
      ex.json(200, JSON.stringify({ status: 'accepted', ...result.stored }))
  }
}

const operation: Operation = {
  summary: 'Publish one event, a batch, or NDJSON; all or nothing',
  parameters: parameters(PublishQuerySchema, {
    ack: 'durable: answer 200 after commit; async: 202 once queued. Default: ACK_MODE.',
  }),
  requestBody: {
    required: true,
    content: Object.fromEntries(
      Object.values(FORMATS).map((format) => [
        format.mediaType,
        { schema: format.schema(EVENT_REF), example: format.example(EVENT_EXAMPLE) },
      ]),
    ),
  },
  responses: {
    '200': json('Every event is committed (durable)', {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['accepted'] },
        accepted: { type: 'integer' },
        unique: { type: 'integer' },
        duplicates: { type: 'integer' },
      },
    }),
    '202': json('Queued (async)', {
      type: 'object',
      properties: {
        status: { type: 'string', enum: ['queued'] },
        accepted: { type: 'integer' },
        queued: { type: 'integer' },
      },
    }),
  },
}

export const publish: HttpEndpoint = {
  handle,
  errors: [
    'malformed_json',
    'duplicate_key',
    'invalid_body',
    'invalid_query',
    'malformed_gzip',
    'body_timeout',
    'body_too_large',
    'body_too_complex',
    'too_many_events',
    'unsupported_media_type',
    'unsupported_encoding',
    'validation',
    'internal',
    'queue_full',
    'store_unavailable',
    'ack_timeout',
  ],
  openapi: operation,
}

export const publishBatch: HttpEndpoint = {
  ...publish,
  openapi: { ...operation, summary: 'Same as POST /publish' },
}
