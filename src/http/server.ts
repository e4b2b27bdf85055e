/**
 * The HTTP server's life and its dispatcher. Each route of the table (routes.ts) is registered
 * once; the dispatcher counts the request, applies the route's policies (closing, origin, auth)
 * and only then calls its handler. Paths off the table get 404, 405 or 426 here.
 *
 * States: open → leaving rotation (`/readyz` answers 503, every route still serves, so that a
 * load balancer stops sending here before anything is refused) → closing (routes that refuse
 * while closing answer 503 with `Connection: close`; requests already accepted are answered when
 * their events commit) → closed (listen socket gone, none pending).
 */
import type {
  HttpRequest,
  HttpResponse,
  ListenOptions,
  RecognizedString,
  TemplatedApp,
  us_listen_socket,
  us_socket_context_t,
} from 'uWebSockets.js'
import { AggregatorError } from '../errors.js'
import { Hub } from '../feed/hub.js'
import type { Uws } from '../uws.js'
import { docsFiles } from './docs.js'
import { openApiDocument } from './openapi.js'
import { checkPort } from './port.js'
import { refusal, type PolicyOptions } from './policies.js'
import { Exchange } from './respond.js'
import {
  isSocket,
  type HandlerOptions,
  type HttpRoute,
  type RouteContext,
  type Services,
  type SocketRoute,
} from './route.js'
import { ALLOWED, ROUTES } from './routes.js'
import { Viewers } from './routes/live.js'

/** uSockets' listen option; the module exports it only at run time, and the JS fallback not at all. */
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1 as ListenOptions

declare module 'uWebSockets.js' {
  interface TemplatedApp {
    /** Listens to host and port with options: in the native module and the fallback, not in the typings. */
    listen(
      host: RecognizedString,
      port: number,
      options: ListenOptions,
      cb: (listenSocket: us_listen_socket | false) => void | Promise<void>,
    ): TemplatedApp
  }
}

/** Events in one read of the feed for stream subscribers; `PAGE_MAX_BYTES` bounds its size too. */
const STREAM_PAGE_EVENTS = 1000
/**
 * How often, at most, one topic's subscribers read for new commits: with ten topics followed,
 * reading at every commit made reads compete with ingestion for the database (measured with
 * `npm run bench:subscribers`); at most this much is added to a delivery's lag.
 */
const STREAM_READ_INTERVAL_MS = 50

export interface ServerOptions extends HandlerOptions, PolicyOptions {
  host: string
  port: number
  subscribersMax: number
  heartbeatMs: number
}

export class HttpServer implements RouteContext {
  readonly openapi: string
  readonly docs = docsFiles()
  private readonly app: TemplatedApp
  private listenSocket: us_listen_socket | null = null
  private leaving = false
  private shuttingDown = false
  /** Requests not yet answered; shutdown waits for them. */
  private pending = 0
  private drained: (() => void) | null = null
  /** Null on the JS fallback, which has no WebSocket. */
  private readonly viewers: Viewers | null
  readonly hub: Hub
  private readonly closingHooks = new Set<() => void>()

  constructor(
    private readonly uws: Uws,
    readonly services: Services,
    readonly options: ServerOptions,
  ) {
    this.openapi = JSON.stringify(openApiDocument(ROUTES, options.version))
    this.app = uws.module.App()
    this.viewers = uws.fallback === null ? new Viewers(this.app, services, options.log) : null
    this.hub = new Hub(services.feed, services.commits, {
      pageEvents: STREAM_PAGE_EVENTS,
      // a page larger than a subscriber's bound would cut off a client that is merely busy
      pageBytes: Math.min(options.pageMaxBytes, options.subscriberBufferBytes),
      heartbeatMs: options.heartbeatMs,
      readIntervalMs: STREAM_READ_INTERVAL_MS,
      max: options.subscribersMax,
      failed: (error) => options.log.warn({ err: error }, 'the feed could not be read for streams'),
    })
    for (const route of ROUTES) {
      if (!isSocket(route)) this.register(route)
      else if (this.viewers !== null) this.registerSocket(route, this.viewers)
      else this.registerSocketless(route)
    }
    this.app.any('/*', (res, req) => this.offTable(res, req))
  }

  get closing(): boolean {
    return this.leaving
  }

  whenClosing(hook: () => void): () => void {
    if (this.shuttingDown) {
      hook()
      return () => {}
    }
    // a function given twice is two hooks: each cancels its own
    const own = () => hook()
    this.closingHooks.add(own)
    return () => this.closingHooks.delete(own)
  }

  /**
   * Resolves with the bound port (useful with PORT=0). The port is held exclusively: by default
   * uWebSockets.js sets SO_REUSEPORT, and a second aggregator on the same port would start
   * silently and take half the connections into its own database.
   */
  listen(): Promise<number> {
    const { host, port } = this.options
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, LIBUS_LISTEN_EXCLUSIVE_PORT, (socket) => {
        if (socket === false) {
          // the probe names the cause; should it pass (the port freed meanwhile), say what we know
          checkPort(host, port).then(
            () => reject(new AggregatorError('ERR_AGG_LISTEN', `cannot listen on ${host}:${port}`)),
            reject,
          )
          return
        }
        this.listenSocket = socket
        resolve(this.uws.module.us_socket_local_port(socket))
      })
    })
  }

  /** `/readyz` answers 503 from now on; every route still serves until `close()`. */
  leaveRotation(): void {
    this.leaving = true
  }

  /** Stops accepting connections; resolves when every accepted request has been answered. */
  close(): Promise<void> {
    this.leaving = true
    this.shuttingDown = true
    this.viewers?.close()
    for (const hook of [...this.closingHooks]) hook()
    this.closingHooks.clear()
    // each open stream gets its `shutting_down` frame and ends: none is left pending
    this.hub.close()
    if (this.listenSocket !== null) this.uws.module.us_listen_socket_close(this.listenSocket)
    this.listenSocket = null
    if (this.pending === 0) return Promise.resolve()
    return new Promise((resolve) => (this.drained = resolve))
  }

  private register(route: HttpRoute): void {
    const dispatch = (res: HttpResponse, req: HttpRequest) => {
      const ex = this.exchange(res, route.label)
      const refused = refusal(route, req, this.shuttingDown, this.options)
      if (refused === null) route.handle(ex, req, this)
      else ex.fail(refused.error, refused.message, { headers: refused.headers })
    }
    if (route.method === 'POST') this.app.post(route.path, dispatch)
    else this.app.get(route.path, dispatch)
  }

  /** An upgraded socket is no request to count: an `Exchange` exists only to refuse one. */
  private registerSocket(route: SocketRoute, viewers: Viewers): void {
    this.app.ws<unknown>(route.path, {
      ...viewers.behavior,
      upgrade: (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => {
        const refused = refusal(route, req, this.shuttingDown, this.options)
        if (refused === null) route.upgrade(res, req, context)
        else {
          this.exchange(res, route.label).fail(refused.error, refused.message, {
            headers: refused.headers,
          })
        }
      },
    })
  }

  /** On a server without WebSocket, a socket's path answers why, upgrade asked or not. */
  private registerSocketless(route: SocketRoute): void {
    this.app.get(route.path, (res) =>
      this.exchange(res, route.label).fail(
        'live_unavailable',
        `${route.method} ${route.path} is a WebSocket, and this process serves on the pure-JS fallback (UWS_FALLBACK=allow), which has none: poll GET /stats instead`,
      ),
    )
  }

  /**
   * Every request goes through here, so shutdown knows what is still unanswered and the metrics
   * see every answer under its route's label.
   */
  private exchange(res: HttpResponse, label: string): Exchange {
    this.pending++
    const started = performance.now()
    return new Exchange(res, (status, code) => {
      this.options.metrics.response(label, status, (performance.now() - started) / 1000, code)
      if (--this.pending === 0) this.drained?.()
    })
  }

  /**
   * A path or method the table does not route: 426 for a plain GET of a WebSocket, else 405 or
   * 404, each counted under a label of its own (a 405 names a real path: a client's bug, not a
   * scanner's probe).
   */
  private offTable(res: HttpResponse, req: HttpRequest): void {
    const url = req.getUrl()
    const method = req.getMethod().toUpperCase()
    const socket = ROUTES.find((r) => isSocket(r) && r.path === url && r.method === method)
    if (socket !== undefined) {
      this.exchange(res, socket.label).fail(
        'upgrade_required',
        `${method} ${url} is a WebSocket: send \`Upgrade: websocket\``,
        { headers: { Upgrade: 'websocket' } },
      )
      return
    }
    const allowed = ALLOWED.get(url)
    if (allowed === undefined) {
      this.exchange(res, 'not_found').fail('not_found', `no route for ${method} ${url}`)
      return
    }
    this.exchange(res, 'method_not_allowed').fail(
      'method_not_allowed',
      `${method} ${url} is not supported; use ${allowed}`,
      { headers: { Allow: allowed } },
    )
  }
}
