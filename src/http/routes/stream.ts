/** `GET /events/stream`: the feed, live, as Server-Sent Events (src/http/sse.ts). */
import type { HttpRequest } from 'uWebSockets.js'
import { parseCursor, START } from '../../feed/cursor.js'
import { STREAM_ENDS, SseStream } from '../sse.js'
import { parameters } from '../openapi.js'
import { parseQuery, StreamQuerySchema } from '../query.js'
import type { Exchange } from '../respond.js'
import type { HttpEndpoint, RouteContext } from '../route.js'

export const eventStream: HttpEndpoint = {
  handle(ex: Exchange, req: HttpRequest, { hub, options }: RouteContext): void {
    const query = parseQuery(StreamQuerySchema, req.getQuery() ?? '')
    if (!query.ok) {
      ex.fail('invalid_query', query.message)
      return
    }
    // a reconnecting EventSource sends the last id it saw: that, not the URL's `after`, is where it is
    const resume = req.getHeader('last-event-id')
    const text = resume !== '' ? resume : query.value.after
    const after = text === undefined ? START : parseCursor(text)
    if (after === undefined) {
      ex.fail('invalid_cursor', `${resume !== '' ? 'Last-Event-ID' : 'after'} is not a cursor`)
      return
    }
    const stream = new SseStream(ex, options.subscriberBufferBytes, () =>
      options.log.info('a stream subscriber fell too far behind and was disconnected'),
    )
    const subscription = hub.subscribe(query.value.topic ?? null, after, stream)
    if (subscription === null) {
      ex.fail('too_many_subscribers', 'this server streams to as many subscribers as it may')
      return
    }
    stream.start(subscription)
  },
  errors: ['invalid_query', 'invalid_cursor', 'too_many_subscribers'],
  openapi: {
    summary: 'Stored events as they are committed, as Server-Sent Events',
    description: [
      'Each event: `id: <cursor>`, `event: event`, `data: <the event as GET /events lists it>`.',
      'A `: heartbeat` comment every SSE_HEARTBEAT_MS. Before the server ends a stream:',
      '`event: error` with `data: {"error": code, "message": …}`, where code is',
      ...Object.entries(STREAM_ENDS).map(([code, message]) => `- \`${code}\`: ${message}`),
      'Reconnect with `Last-Event-ID` (the last id seen) to resume: nothing is lost or repeated.',
    ].join('\n'),
    parameters: [
      ...parameters(StreamQuerySchema, {
        topic: 'Only this topic (default: all)',
        after: 'Cursor: start after this event (default: the first event)',
      }),
      {
        name: 'Last-Event-ID',
        in: 'header',
        required: false,
        description: 'Cursor to resume after; takes precedence over `after`',
        schema: { type: 'string' },
      },
    ],
    responses: {
      '200': {
        description: 'An endless stream of frames',
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      },
    },
  },
}
