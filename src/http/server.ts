/**
 * The HTTP edge: routes, content negotiation and status codes. It knows nothing of shards or
 * SQL; everything behind it arrives as the `Services` interface, wired in main.ts.
 *
 * States: open → closing (new requests get 503 with `Connection: close`; requests already
 * accepted are answered when their events commit) → closed (listen socket gone, none pending).
 */
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js'
import type { AckMode } from '../config.js'
import type { EventsPage, EventsQuery } from '../read-model.js'
import type { PublishResult } from '../ingest/publish.js'
import type { Logger } from '../log.js'
import type { Stats } from '../stats/stats.js'
import type { Uws } from '../uws.js'
import type { Tokens } from './auth.js'
import { readBody } from './body.js'
import { EventsQuerySchema, PublishQuerySchema, parseQuery } from './query.js'
import { Exchange } from './respond.js'

export interface Readiness {
  ready: boolean
  checks: Record<string, boolean>
}

export interface Services {
  /** True while the queues are full: a publish is refused before its body is read. */
  full(): boolean
  publish(body: Uint8Array, ack: AckMode): Promise<PublishResult>
  events(query: EventsQuery): Promise<EventsPage>
  stats(): Promise<Stats>
  ready(): Promise<Readiness>
}

export interface ServerOptions {
  host: string
  port: number
  bodyLimitBytes: number
  bodyTimeoutMs: number
  ackMode: AckMode
  /** Required on publish; on reads too when `authRead`. Health checks stay open. */
  tokens: Tokens
  authRead: boolean
  log: Logger
}

const RETRY_AFTER = { 'Retry-After': '1' }

const ROUTES = new Map([
  ['/publish', 'POST'],
  ['/publish/batch', 'POST'],
  ['/events', 'GET'],
  ['/stats', 'GET'],
  ['/health', 'GET'],
  ['/healthz', 'GET'],
  ['/readyz', 'GET'],
])

export class HttpServer {
  private readonly app: TemplatedApp
  private listenSocket: us_listen_socket | null = null
  private closing = false
  /** Requests not yet answered; shutdown waits for them. */
  private pending = 0
  private drained: (() => void) | null = null

  constructor(
    private readonly uws: Uws,
    private readonly services: Services,
    private readonly options: ServerOptions,
  ) {
    this.app = uws.module
      .App()
      .post('/publish', (res, req) => this.publish(res, req))
      .post('/publish/batch', (res, req) => this.publish(res, req))
      .get('/events', (res, req) => this.events(res, req))
      .get('/stats', (res, req) => this.stats(res, req))
      .get('/health', (res) => this.exchange(res).json(200, '{"status":"ok"}'))
      .get('/healthz', (res) => this.exchange(res).json(200, '{"status":"ok"}'))
      .get('/readyz', (res) => this.readyz(res))
      .any('/*', (res, req) => this.notFound(res, req))
  }

  /** Resolves with the bound port (useful with PORT=0). */
  listen(): Promise<number> {
    const { host, port } = this.options
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (socket === false) {
          reject(new Error(`cannot listen on ${host}:${port}`))
          return
        }
        this.listenSocket = socket
        resolve(this.uws.module.us_socket_local_port(socket))
      })
    })
  }

  /** Stops accepting connections; resolves when every accepted request has been answered. */
  close(): Promise<void> {
    this.closing = true
    if (this.listenSocket !== null) this.uws.module.us_listen_socket_close(this.listenSocket)
    this.listenSocket = null
    if (this.pending === 0) return Promise.resolve()
    return new Promise((resolve) => (this.drained = resolve))
  }

  /** Every request goes through here, so shutdown knows what is still unanswered. */
  private exchange(res: HttpResponse): Exchange {
    this.pending++
    return new Exchange(res, () => {
      if (--this.pending === 0) this.drained?.()
    })
  }

  private publish(res: HttpResponse, req: HttpRequest): void {
    const ex = this.exchange(res)
    if (this.refuseWhileClosing(ex) || this.refuseUnauthorized(ex, req, true)) return
    if (this.services.full()) {
      // cheapest possible refusal under overload: the body is never read
      ex.error(
        503,
        'queue_full',
        'queues are full; retry after the indicated delay',
        RETRY_AFTER,
        true,
      )
      return
    }
    const type = req.getHeader('content-type')
    if (type !== '' && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
      ex.error(415, 'unsupported_media_type', `Content-Type must be application/json, not ${type}`)
      return
    }
    const query = parseQuery(PublishQuerySchema, req.getQuery() ?? '')
    if (!query.ok) {
      ex.error(400, 'invalid_query', query.message)
      return
    }
    const ack = query.value.ack ?? this.options.ackMode
    readBody(ex, req, this.options, (body) => {
      this.services.publish(body, ack).then(
        (result) => answerPublish(ex, result),
        (error: unknown) => this.internalError(ex, error),
      )
    })
  }

  private events(res: HttpResponse, req: HttpRequest): void {
    const ex = this.exchange(res)
    if (this.refuseWhileClosing(ex) || this.refuseUnauthorized(ex, req, this.options.authRead)) {
      return
    }
    const query = parseQuery(EventsQuerySchema, req.getQuery() ?? '')
    if (!query.ok) {
      ex.error(400, 'invalid_query', query.message)
      return
    }
    const { topic, limit, after } = query.value
    this.services.events({ topic: topic ?? null, limit, after }).then(
      (page) => ex.json(200, page.json, nextPage(page, topic, limit)),
      (error: unknown) => this.unavailable(ex, error),
    )
  }

  private stats(res: HttpResponse, req: HttpRequest): void {
    const ex = this.exchange(res)
    if (this.refuseWhileClosing(ex) || this.refuseUnauthorized(ex, req, this.options.authRead)) {
      return
    }
    this.services.stats().then(
      (stats) => ex.json(200, JSON.stringify(stats)),
      (error: unknown) => this.unavailable(ex, error),
    )
  }

  private readyz(res: HttpResponse): void {
    const ex = this.exchange(res)
    if (this.closing) {
      ex.json(503, JSON.stringify({ status: 'closing', checks: {} }), RETRY_AFTER)
      return
    }
    this.services.ready().then(
      ({ ready, checks }) =>
        ex.json(
          ready ? 200 : 503,
          JSON.stringify({ status: ready ? 'ready' : 'not_ready', checks }),
        ),
      (error: unknown) => this.internalError(ex, error),
    )
  }

  private notFound(res: HttpResponse, req: HttpRequest): void {
    const url = req.getUrl()
    const method = req.getMethod().toUpperCase()
    const ex = this.exchange(res)
    const allowed = ROUTES.get(url)
    if (allowed === undefined) {
      ex.error(404, 'not_found', `no route for ${method} ${url}`)
      return
    }
    ex.error(405, 'method_not_allowed', `${method} ${url} is not supported; use ${allowed}`, {
      Allow: allowed,
    })
  }

  private refuseWhileClosing(ex: Exchange): boolean {
    if (!this.closing) return false
    ex.error(503, 'shutting_down', 'the server is shutting down', RETRY_AFTER, true)
    return true
  }

  private refuseUnauthorized(ex: Exchange, req: HttpRequest, required: boolean): boolean {
    if (!required || this.options.tokens.allows(req.getHeader('authorization'))) return false
    ex.error(401, 'unauthorized', 'a valid `Authorization: Bearer <token>` is required', {
      'WWW-Authenticate': 'Bearer',
    })
    return true
  }

  private unavailable(ex: Exchange, error: unknown): void {
    this.options.log.warn({ err: error }, 'database read failed')
    ex.error(503, 'database_unavailable', 'the database is not reachable', RETRY_AFTER)
  }

  private internalError(ex: Exchange, error: unknown): void {
    this.options.log.error({ err: error }, 'unexpected error while answering a request')
    ex.error(500, 'internal', 'unexpected server error')
  }
}

function nextPage(
  page: EventsPage,
  topic: string | undefined,
  limit: number,
): Record<string, string> {
  if (page.count < limit || page.lastSeq === null) return {}
  const next = new URLSearchParams()
  if (topic !== undefined) next.set('topic', topic)
  next.set('limit', String(limit))
  next.set('after', String(page.lastSeq))
  return { Link: `</events?${next}>; rel="next"`, 'X-Next-Cursor': String(page.lastSeq) }
}

function answerPublish(ex: Exchange, result: PublishResult): void {
  switch (result.kind) {
    case 'rejected': {
      const { status, events: _events, ...body } = result.rejection
      ex.json(status, JSON.stringify(body))
      return
    }
    case 'busy':
      ex.error(503, 'queue_full', result.message, RETRY_AFTER)
      return
    case 'failed':
      ex.error(503, 'store_unavailable', result.message, RETRY_AFTER)
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
