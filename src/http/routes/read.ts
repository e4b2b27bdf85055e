/** `GET /events` (the feed), `GET /stats` and `GET /topics`: what the store holds. */
import type { HttpRequest } from 'uWebSockets.js'
import { cursorProblem, parseCursor, START } from '../../feed/cursor.js'
import type { FeedPage } from '../../feed/feed.js'
import type { Logger } from '../../log.js'
import type { Stats } from '../../stats/stats.js'
import { databaseUnavailable } from '../failures.js'
import { EVENT_REF, json, parameters } from '../openapi.js'
import { pollFeed } from '../long-poll.js'
import { EventsQuerySchema, MAX_WAIT_S, parseQuery, TopicsQuerySchema } from '../query.js'
import type { Exchange } from '../respond.js'
import type { HttpEndpoint, RouteContext } from '../route.js'

/** The `Link` header of every paged answer. */
const NEXT_LINK = {
  schema: { type: 'string' },
  description: '<…>; rel="next" when more may follow',
} as const

export const events: HttpEndpoint = {
  handle(ex: Exchange, req: HttpRequest, context: RouteContext): void {
    const query = parseQuery(EventsQuerySchema, req.getQuery() ?? '')
    if (!query.ok) {
      ex.fail('invalid_query', query.message)
      return
    }
    const { topic = null, limit, wait } = query.value
    const given = query.value.after
    const after = given === undefined ? START : parseCursor(given)
    if (after === undefined) {
      ex.fail('invalid_cursor', cursorProblem(given!))
      return
    }
    const maxBytes = context.options.pageMaxBytes
    pollFeed(ex, context, { after, topic, limit, maxBytes }, wait * 1000).then(
      (page) =>
        ex.json(
          200,
          `[${page.events.map((e) => e.json).join(',')}]`,
          pageHeaders(page, topic, limit),
        ),
      (error: unknown) =>
        isDataError(error)
          ? refusedByStore(ex, context.options.log, error)
          : databaseUnavailable(ex, context.options.log, error),
    )
  },
  errors: ['invalid_query', 'invalid_cursor', 'database_unavailable'],
  openapi: {
    summary:
      'The feed: every stored event exactly once, in an order that never changes, a page at a time',
    parameters: parameters(EventsQuerySchema, {
      topic: 'Only this topic (default: all)',
      limit: 'Most events in a page, 1-10000 (default 1000); PAGE_MAX_BYTES bounds its size too',
      after:
        'Cursor: X-Next-Cursor of the previous answer (default: from the start; `0` also means the start)',
      wait: `Long poll: with no event to answer yet, wait up to this many seconds (0-${MAX_WAIT_S}, default 0) for one to be stored`,
    }),
    responses: {
      '200': {
        ...json('A bare array; exactly [] when nothing (yet) follows the cursor', {
          type: 'array',
          items: {
            allOf: [
              EVENT_REF,
              {
                type: 'object',
                properties: { received_at: { type: 'string', format: 'date-time' } },
              },
            ],
          },
        }),
        headers: {
          Link: NEXT_LINK,
          'X-Next-Cursor': {
            schema: { type: 'string' },
            description:
              'Always: the cursor to resume from (after the last event; the one asked for when the page is empty)',
          },
        },
      },
    },
  },
}

/**
 * SQLSTATE class 22 (data exception: an invalid byte sequence, a value out of range) means the
 * parameters, not the database, are at fault: retrying the same request cannot help, so it is not
 * a 503. The query schema should refuse such values first; this keeps a rule it misses a 400.
 */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('22')
}

function refusedByStore(ex: Exchange, log: Logger, error: unknown): void {
  log.warn({ err: error }, 'the database refused the parameters of a read')
  ex.fail('invalid_query', 'a query parameter is not a value the store can compare')
}

/** The cursor to resume from, always; the next page's link when more may follow. */
function pageHeaders(page: FeedPage, topic: string | null, limit: number): Record<string, string> {
  const headers: Record<string, string> = { 'X-Next-Cursor': page.next }
  if (!page.more) return headers
  const next = new URLSearchParams()
  if (topic !== null) next.set('topic', topic)
  next.set('limit', String(limit))
  next.set('after', page.next)
  return { ...headers, Link: `</events?${next.toString()}>; rel="next"` }
}

/**
 * Spellings clients of the older systems read (shared/REFERENCE.md), each another field's value
 * under a second name: derived here, once, for the answer and its documentation.
 */
const ALIASES: Record<string, { value: (stats: Stats) => number; description: string }> = {
  uptime_seconds: { value: (s) => s.uptime, description: 'Alias of `uptime`, for older clients' },
  uptime_sec: { value: (s) => s.uptime, description: 'Alias of `uptime`, for older clients' },
  workers: {
    value: (s) => s.shards.length,
    description: 'Worker threads (the length of `shards`), for older clients',
  },
}

function withAliases(stats: Stats): Record<string, unknown> {
  const aliases: Record<string, number> = {}
  for (const [name, { value }] of Object.entries(ALIASES)) aliases[name] = value(stats)
  return { ...stats, ...aliases }
}

export const stats: HttpEndpoint = {
  handle(ex: Exchange, _req: HttpRequest, { services, options }: RouteContext): void {
    services.stats().then(
      (stats) => ex.json(200, JSON.stringify(withAliases(stats))),
      (error: unknown) => databaseUnavailable(ex, options.log, error),
    )
  },
  errors: ['database_unavailable'],
  openapi: {
    summary: 'Counters: global ones from PostgreSQL, plus this process’s queues',
    responses: {
      '200': json('received = unique_processed + duplicate_dropped + in_flight', {
        type: 'object',
        properties: {
          ...Object.fromEntries(
            [
              'received',
              'unique_processed',
              'duplicate_dropped',
              'rejected',
              'failed',
              'in_flight',
              'rejected_events',
              'topic_count',
              'uptime',
            ].map((k) => [k, { type: 'integer' }]),
          ),
          ...Object.fromEntries(
            Object.entries(ALIASES).map(([name, { description }]) => [
              name,
              { type: 'integer', description },
            ]),
          ),
        },
      }),
    },
  },
}

export const topics: HttpEndpoint = {
  handle(ex: Exchange, req: HttpRequest, { services, options }: RouteContext): void {
    const query = parseQuery(TopicsQuerySchema, req.getQuery() ?? '')
    if (!query.ok) {
      ex.fail('invalid_query', query.message)
      return
    }
    const { after, limit } = query.value
    services.topics({ after, limit }).then(
      (rows) => {
        const body = JSON.stringify(
          rows.map((r) => ({
            topic: r.topic,
            unique_processed: r.unique,
            duplicate_dropped: r.duplicates,
          })),
        )
        const last = rows.at(-1)
        if (rows.length < limit || last === undefined) return ex.json(200, body)
        const next = new URLSearchParams({ after: last.topic, limit: String(limit) })
        ex.json(200, body, {
          Link: `</topics?${next.toString()}>; rel="next"`,
          'X-Next-Cursor': encodeURIComponent(last.topic),
        })
      },
      (error: unknown) => databaseUnavailable(ex, options.log, error),
    )
  },
  errors: ['invalid_query', 'database_unavailable'],
  openapi: {
    summary: 'Every topic with its counters, in byte order of the name, a page at a time',
    parameters: parameters(TopicsQuerySchema, {
      after: 'Cursor: the last topic of the previous page (default: from the start)',
      limit: 'Page size, 1-10000 (default 1000)',
    }),
    responses: {
      '200': {
        ...json('A bare array; exactly [] past the last topic', {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              topic: { type: 'string' },
              unique_processed: { type: 'integer' },
              duplicate_dropped: { type: 'integer' },
            },
          },
        }),
        headers: {
          Link: NEXT_LINK,
          'X-Next-Cursor': {
            schema: { type: 'string' },
            description: 'The last topic of this page, URL-encoded: the next `after`',
          },
        },
      },
    },
  },
}
