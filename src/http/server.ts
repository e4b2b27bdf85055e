/**
 * The HTTP edge: routes, content negotiation and status codes. It knows nothing of shards or
 * SQL; everything behind it arrives as the `Services` interface, wired in main.ts.
 *
 * States: open → closing (new requests get 503 with `Connection: close`; requests already
 * accepted are answered when their events commit) → closed (listen socket gone, none pending).
 */
import type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  WebSocket,
  us_listen_socket,
  us_socket_context_t,
} from 'uWebSockets.js'
import type { AckMode } from '../config.js'
import { ERRORS } from '../errors.js'
import { LIVE_TOPIC, LiveStats } from '../dashboard/live.js'
import { DASHBOARD_CSP, DASHBOARD_HTML } from '../dashboard/page.js'
import type { EventsPage, EventsQuery } from '../read-model.js'
import type { PublishResult } from '../ingest/ingestor.js'
import type { BodyFormat } from '../ingest/request.js'
import type { Logger } from '../log.js'
import type { Stats } from '../stats/stats.js'
import type { Uws } from '../uws.js'
import { bearerProtocol, type Tokens } from './auth.js'
import { readBody } from './body.js'
import { bodyFormat, decodeBody } from './encoding.js'
import { EventsQuerySchema, PublishQuerySchema, parseQuery } from './query.js'
import { docsFiles } from './docs.js'
import { openApiDocument } from './openapi.js'
import { Exchange } from './respond.js'

export interface Readiness {
  ready: boolean
  checks: Record<string, boolean>
}

export interface Services {
  /** True while the queues are full: a publish is refused before its body is read. */
  full(): boolean
  publish(body: Uint8Array, format: BodyFormat, ack: AckMode): Promise<PublishResult>
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
  metrics: HttpMetrics
  /** The service's version, for the API document. */
  version: string
  log: Logger
}

/** What the edge reports and serves for Prometheus (src/stats/metrics.ts). */
export interface HttpMetrics {
  readonly contentType: string
  response(route: string, status: number | null, seconds: number): void
  text(): Promise<string>
}

/** Every path the server answers, with its method: the 405 answers and the API document agree. */
export const ROUTES = new Map([
  ['/publish', 'POST'],
  ['/publish/batch', 'POST'],
  ['/events', 'GET'],
  ['/stats', 'GET'],
  ['/health', 'GET'],
  ['/healthz', 'GET'],
  ['/readyz', 'GET'],
  ['/', 'GET'],
  ['/dashboard', 'GET'],
  ['/live', 'GET'],
  ['/metrics', 'GET'],
  ['/openapi.json', 'GET'],
  ['/docs', 'GET'],
])

export class HttpServer {
  private readonly app: TemplatedApp
  private listenSocket: us_listen_socket | null = null
  private closing = false
  /** Requests not yet answered; shutdown waits for them. */
  private pending = 0
  private drained: (() => void) | null = null
  private readonly live: LiveStats
  private readonly openapi: string
  private readonly docs = docsFiles()
  /** Open `/live` WebSockets, closed on shutdown: they would keep the event loop alive. */
  private readonly viewers = new Set<WebSocket<unknown>>()

  constructor(
    private readonly uws: Uws,
    private readonly services: Services,
    private readonly options: ServerOptions,
  ) {
    this.openapi = JSON.stringify(openApiDocument(options.version))
    this.app = uws.module
      .App()
      .post('/publish', (res, req) => this.publish(res, req))
      .post('/publish/batch', (res, req) => this.publish(res, req))
      .get('/events', (res, req) => this.events(res, req))
      .get('/stats', (res, req) => this.stats(res, req))
      .get('/health', (res) => this.exchange(res, 'health').json(200, '{"status":"ok"}'))
      .get('/healthz', (res) => this.exchange(res, 'health').json(200, '{"status":"ok"}'))
      .get('/readyz', (res) => this.readyz(res))
      .get('/metrics', (res, req) => this.metrics(res, req))
      .get('/openapi.json', (res) =>
        this.exchange(res, 'openapi').json(200, this.openapi, { 'Cache-Control': 'no-cache' }),
      )
      .get('/docs', (res) => this.file(res, '/docs'))
      .get('/docs/*', (res, req) => this.file(res, req.getUrl()))
      .get('/', (res) => this.dashboard(res))
      .get('/dashboard', (res) => this.dashboard(res))
      .ws<unknown>('/live', {
        // viewers only listen; one that falls this far behind is skipped until it catches up
        maxPayloadLength: 1024,
        maxBackpressure: 256 * 1024,
        idleTimeout: 32,
        upgrade: (res, req, context) => this.upgradeViewer(res, req, context),
        open: (ws) => {
          this.viewers.add(ws)
          ws.subscribe(LIVE_TOPIC)
          this.live.welcome((message) => ws.send(message))
        },
        close: (ws) => this.viewers.delete(ws),
      })
      .any('/*', (res, req) => this.notFound(res, req))
    this.live = new LiveStats({
      snapshot: () => services.stats(),
      publish: (message) => this.app.publish(LIVE_TOPIC, message),
      viewers: () => this.app.numSubscribers(LIVE_TOPIC),
      failed: (error) => options.log.warn({ err: error }, 'dashboard snapshot failed'),
    })
    this.live.start()
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
    this.live.stop()
    for (const viewer of this.viewers) viewer.end(1001, 'shutting down')
    if (this.listenSocket !== null) this.uws.module.us_listen_socket_close(this.listenSocket)
    this.listenSocket = null
    if (this.pending === 0) return Promise.resolve()
    return new Promise((resolve) => (this.drained = resolve))
  }

  /**
   * Every request goes through here, so shutdown knows what is still unanswered and the metrics
   * see every answer. `route` is a fixed label, never the raw URL (unbounded label values).
   */
  private exchange(res: HttpResponse, route: string): Exchange {
    this.pending++
    const started = performance.now()
    return new Exchange(res, (status) => {
      this.options.metrics.response(route, status, (performance.now() - started) / 1000)
      if (--this.pending === 0) this.drained?.()
    })
  }

  private publish(res: HttpResponse, req: HttpRequest): void {
    const ex = this.exchange(res, 'publish')
    if (this.refuseWhileClosing(ex) || this.refuseUnauthorized(ex, req, true)) return
    if (this.services.full()) {
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
    const ack = query.value.ack ?? this.options.ackMode
    readBody(ex, req, this.options, (raw) =>
      decodeBody(raw, encoding, this.options.bodyLimitBytes, (body) => {
        if (!(body instanceof Uint8Array)) return ex.fail(body.error, body.message)
        this.services.publish(body, format, ack).then(
          (result) => answerPublish(ex, result),
          (error: unknown) => this.internalError(ex, error),
        )
      }),
    )
  }

  private events(res: HttpResponse, req: HttpRequest): void {
    const ex = this.exchange(res, 'events')
    if (this.refuseWhileClosing(ex) || this.refuseUnauthorized(ex, req, this.options.authRead)) {
      return
    }
    const query = parseQuery(EventsQuerySchema, req.getQuery() ?? '')
    if (!query.ok) {
      ex.fail('invalid_query', query.message)
      return
    }
    const { topic, limit, after } = query.value
    this.services.events({ topic: topic ?? null, limit, after }).then(
      (page) => ex.json(200, page.json, nextPage(page, topic, limit)),
      (error: unknown) => this.unavailable(ex, error),
    )
  }

  private stats(res: HttpResponse, req: HttpRequest): void {
    const ex = this.exchange(res, 'stats')
    if (this.refuseWhileClosing(ex) || this.refuseUnauthorized(ex, req, this.options.authRead)) {
      return
    }
    this.services.stats().then(
      (stats) => ex.json(200, JSON.stringify(stats)),
      (error: unknown) => this.unavailable(ex, error),
    )
  }

  private readyz(res: HttpResponse): void {
    const ex = this.exchange(res, 'readyz')
    if (this.closing) {
      const retryAfter = String(ERRORS.shutting_down.retryAfter)
      ex.json(503, JSON.stringify({ status: 'closing', checks: {} }), { 'Retry-After': retryAfter })
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

  private metrics(res: HttpResponse, req: HttpRequest): void {
    const ex = this.exchange(res, 'metrics')
    if (this.refuseUnauthorized(ex, req, this.options.authRead)) return
    this.options.metrics.text().then(
      (text) => ex.send(200, this.options.metrics.contentType, text),
      (error: unknown) => this.internalError(ex, error),
    )
  }

  private file(res: HttpResponse, url: string): void {
    const ex = this.exchange(res, 'docs')
    const file = this.docs.get(url)
    if (file === undefined) return ex.fail('not_found', `no file ${url}`)
    ex.send(200, file.type, file.body, { 'Cache-Control': 'public, max-age=3600' })
  }

  private dashboard(res: HttpResponse): void {
    const ex = this.exchange(res, 'dashboard')
    if (this.refuseWhileClosing(ex)) return
    ex.send(200, 'text/html; charset=utf-8', DASHBOARD_HTML, {
      'Content-Security-Policy': DASHBOARD_CSP,
      'Cache-Control': 'no-cache',
    })
  }

  /** `/live` follows the read rule of `/stats`: with `authRead`, a viewer needs a token. */
  private upgradeViewer(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    if (this.closing) {
      this.refuseWhileClosing(this.exchange(res, 'live'))
      return
    }
    const offered = bearerProtocol(req.getHeader('sec-websocket-protocol'))
    const authorization = offered?.authorization ?? req.getHeader('authorization')
    if (this.options.authRead && !this.options.tokens.allows(authorization)) {
      this.exchange(res, 'live').fail(
        'unauthorized',
        'a valid token is required: `Authorization: Bearer <token>` or the WebSocket subprotocol `bearer.<base64url(token)>`',
        { headers: { 'WWW-Authenticate': 'Bearer' } },
      )
      return
    }
    res.upgrade(
      {},
      req.getHeader('sec-websocket-key'),
      offered?.protocol ?? '',
      req.getHeader('sec-websocket-extensions'),
      context,
    )
  }

  private notFound(res: HttpResponse, req: HttpRequest): void {
    const url = req.getUrl()
    const method = req.getMethod().toUpperCase()
    const ex = this.exchange(res, 'not_found')
    const allowed = ROUTES.get(url)
    if (url === '/live' && method === 'GET') {
      ex.fail('upgrade_required', 'GET /live is a WebSocket: send `Upgrade: websocket`', {
        headers: { Upgrade: 'websocket' },
      })
      return
    }
    if (allowed === undefined) {
      ex.fail('not_found', `no route for ${method} ${url}`)
      return
    }
    ex.fail('method_not_allowed', `${method} ${url} is not supported; use ${allowed}`, {
      headers: { Allow: allowed },
    })
  }

  private refuseWhileClosing(ex: Exchange): boolean {
    if (!this.closing) return false
    ex.fail('shutting_down', 'the server is shutting down')
    return true
  }

  private refuseUnauthorized(ex: Exchange, req: HttpRequest, required: boolean): boolean {
    if (!required || this.options.tokens.allows(req.getHeader('authorization'))) return false
    ex.fail('unauthorized', 'a valid `Authorization: Bearer <token>` is required', {
      headers: { 'WWW-Authenticate': 'Bearer' },
    })
    return true
  }

  private unavailable(ex: Exchange, error: unknown): void {
    this.options.log.warn({ err: error }, 'database read failed')
    ex.fail('database_unavailable', 'the database is not reachable')
  }

  private internalError(ex: Exchange, error: unknown): void {
    this.options.log.error({ err: error }, 'unexpected error while answering a request')
    ex.fail('internal', 'unexpected server error')
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
