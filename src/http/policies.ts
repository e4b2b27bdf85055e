/**
 * The policies every route passes before its handler runs, applied once by the dispatcher from
 * the route's columns in the table: first closing, then origin (a page on a foreign site is
 * refused whatever token it holds), then auth.
 */
import type { HttpRequest } from 'uWebSockets.js'
import type { ErrorCode } from '../errors.js'
import { bearerProtocol, type Tokens } from './auth.js'
import type { Origins } from './origin.js'
import type { Headers } from './respond.js'
import { isSocket, type Route } from './route.js'

export interface PolicyRefusal {
  error: Extract<ErrorCode, 'shutting_down' | 'forbidden_origin' | 'unauthorized'>
  message: string
  headers?: Headers
}

export interface AuthOptions {
  tokens: Tokens
  /** Reads (`auth: 'read'`) need a token too. */
  authRead: boolean
}

/** What the policies need beyond the route and the request. */
export interface PolicyOptions extends AuthOptions {
  /** The pages, besides the server's own, that may call routes with `origin: 'same'`. */
  origins: Origins
}

const SHUTTING_DOWN: PolicyRefusal = {
  error: 'shutting_down',
  message: 'the server is shutting down',
}

const CHALLENGE = { 'WWW-Authenticate': 'Bearer' }

const UNAUTHORIZED: PolicyRefusal = {
  error: 'unauthorized',
  message: 'a valid `Authorization: Bearer <token>` is required',
  headers: CHALLENGE,
}

/** Browsers cannot set headers on a WebSocket: a viewer may offer its token as a subprotocol. */
const UNAUTHORIZED_SOCKET: PolicyRefusal = {
  error: 'unauthorized',
  message:
    'a valid token is required: `Authorization: Bearer <token>` or the WebSocket subprotocol `bearer.<base64url(token)>`',
  headers: CHALLENGE,
}

/** Why `req` may not reach `route`'s handler, or null when it may. Reads headers: call before any await. */
export function refusal(
  route: Route,
  req: HttpRequest,
  closing: boolean,
  options: PolicyOptions,
): PolicyRefusal | null {
  if (closing && route.whileClosing === 'refuse') return SHUTTING_DOWN
  const foreign = route.origin === 'same' ? foreignOrigin(req, options.origins) : null
  if (foreign !== null) {
    return {
      error: 'forbidden_origin',
      message: `pages from ${foreign} may not call this route: only the server's own origin and those in ALLOWED_ORIGINS may`,
    }
  }
  if (tokenRequired(route, options) && !options.tokens.allows(authorization(route, req))) {
    return isSocket(route) ? UNAUTHORIZED_SOCKET : UNAUTHORIZED
  }
  return null
}

/** The codes the policies may answer `route` with, for its API document. */
export function policyCodes(route: Route): PolicyRefusal['error'][] {
  return [
    ...(route.whileClosing === 'refuse' ? (['shutting_down'] as const) : []),
    ...(route.origin === 'same' ? (['forbidden_origin'] as const) : []),
    ...(route.auth === 'open' ? [] : (['unauthorized'] as const)),
  ]
}

/** The `Origin` of a page that may not call us, or null (no `Origin`: not a browser, no page). */
function foreignOrigin(req: HttpRequest, origins: Origins): string | null {
  const origin = req.getHeader('origin')
  return origin === '' || origins.allows(origin, req.getHeader('host')) ? null : origin
}

function tokenRequired(route: Route, auth: AuthOptions): boolean {
  switch (route.auth) {
    case 'publish':
      // `Tokens.allows` admits every request when AUTH_TOKENS is unset
      return true
    case 'read':
      return auth.authRead
    case 'open':
      return false
  }
}

function authorization(route: Route, req: HttpRequest): string {
  const offered = isSocket(route) ? bearerProtocol(req.getHeader('sec-websocket-protocol')) : null
  return offered?.authorization ?? req.getHeader('authorization')
}
