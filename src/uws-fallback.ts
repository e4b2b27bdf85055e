/**
 * The unofficial fork's pure-JS server (its `dist/`, on node:http), completed where the app
 * needs it: loaded only where no native uWebSockets.js build loads and `UWS_FALLBACK=allow`.
 * Many times slower than the native server; for development on a runtime the native builds do
 * not cover.
 *
 * What the fork's JS server lacks or gets wrong, for the calls the app makes (the fork is pinned
 * exactly, so these hold for its one version):
 *
 *   `req.getQuery`     builds `new URL(url)` from a relative URL and throws     → from the URL
 *   routing, `getUrl`  match and return the URL with its query string           → query cut off
 *   `res.onWritable`   throws "Not implemented" (server-sent events need it)   → node's `drain`,
 *                      called after the refused write has returned, as uWS does
 *   `res.onAborted`    fires after every answer, not only when the client left → only unfinished
 *   `res.end(b, true)` destroys the socket at once, cutting off unsent bytes  → closes after it
 *   WebSocket          `app.publish`, `app.numSubscribers`, `res.upgrade` throw → no WebSocket:
 *                      an upgrade is served as a plain request (`/live` answers `live_unavailable`)
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import path from 'node:path'
import type * as UwsTypes from 'uWebSockets.js'

// the fork's classes, as far as they are replaced or read here
interface ForkContext {
  handleRequest: (this: ForkContext, req: IncomingMessage, res: ServerResponse) => void
  handleHttpUpgrade: (this: ForkContext, req: IncomingMessage, socket: Socket) => void
}
interface ForkRequest {
  request: IncomingMessage
  getQuery: (this: ForkRequest, key?: string) => string | undefined
}
interface ForkResponse {
  response: ServerResponse
  abortHandler?: () => void
  onWritable: (this: ForkResponse, handler: (offset: number) => boolean) => ForkResponse
  onAborted: (this: ForkResponse, handler: () => void) => ForkResponse
  end: (this: ForkResponse, body?: string | Buffer, closeConnection?: boolean) => ForkResponse
}
type Prototype<T> = { prototype: T }

const require = createRequire(import.meta.url)

/** Each request's query string, cut off its URL before routing (uWS routes the path alone). */
const queries = new WeakMap<IncomingMessage, string>()

/** The fork's JS server from its package folder, completed once (its classes are shared). */
export function loadFallback(dir: string): typeof UwsTypes {
  const load = <T>(file: string) => require(path.join(dir, 'dist', file)) as T
  const { HttpContext } = load<{ HttpContext: Prototype<ForkContext> }>('http-context.js')
  const { HttpRequest } = load<{ HttpRequest: Prototype<ForkRequest> }>('http-request.js')
  const { HttpResponse } = load<{ HttpResponse: Prototype<ForkResponse> }>('http-response.js')
  if (!completed.has(HttpContext.prototype)) {
    complete(HttpContext.prototype, HttpRequest.prototype, HttpResponse.prototype)
    completed.add(HttpContext.prototype)
  }
  return load<typeof UwsTypes>('index.js')
}

const completed = new WeakSet<object>()

function complete(context: ForkContext, request: ForkRequest, response: ForkResponse): void {
  const route = context.handleRequest
  context.handleRequest = function (req, res) {
    const url = req.url ?? ''
    const at = url.indexOf('?')
    if (at !== -1) {
      queries.set(req, url.slice(at + 1))
      req.url = url.slice(0, at)
    }
    route.call(this, req, res)
  }
  // no WebSocket here: the upgrade request is answered like any other, on its socket
  context.handleHttpUpgrade = function (req, socket) {
    const res = new http.ServerResponse(req)
    res.assignSocket(socket)
    res.setHeader('Connection', 'close')
    res.once('finish', () => socket.end())
    this.handleRequest(req, res)
  }

  request.getQuery = function (key) {
    const query = queries.get(this.request)
    if (key === undefined) return query
    return new URLSearchParams(query).get(key) ?? undefined
  }

  // uWS calls this from the event loop, after the refused write has returned; node may emit
  // `drain` within that write (its uncork flushes at once), before the caller knows it was
  // refused, which would leave the caller waiting for a drain already past. uWS passes the write
  // offset; the app's one caller (server-sent events) does not read it.
  response.onWritable = function (handler) {
    this.response.on('drain', () => setImmediate(() => handler(0)))
    return this
  }
  response.onAborted = function (handler) {
    this.abortHandler = () => {
      if (!this.response.writableFinished) handler()
    }
    return this
  }
  response.end = function (body = '', closeConnection = false) {
    const socket = this.response.socket
    if (closeConnection && !this.response.headersSent)
      this.response.setHeader('Connection', 'close')
    this.response.end(body, () => {
      if (closeConnection) socket?.end()
    })
    return this
  }
}
