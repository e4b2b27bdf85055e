/**
 * The policies every route passes before its handler runs, applied once by the dispatcher from
 * the route's columns in the table: first closing, then auth. A check on `Origin` (for
 * browser-facing routes) would be one more column and one more step here.
 */
import type { HttpRequest } from 'uWebSockets.js'
import type { ErrorCode } from '../errors.js'
import { bearerProtocol, type Tokens } from './auth.js'
import type { Headers } from './respond.js'
import { isSocket, type Route } from './route.js'

export interface PolicyRefusal {
  error: Extract<ErrorCode, 'shutting_down' | 'unauthorized'>
  message: string
  headers?: Headers
}

export interface AuthOptions {
  tokens: Tokens
  /** Reads (`auth: 'read'`) need a token too. */
  authRead: boolean
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
  auth: AuthOptions,
): PolicyRefusal | null {
  if (closing && route.whileClosing === 'refuse') return SHUTTING_DOWN
  if (tokenRequired(route, auth) && !auth.tokens.allows(authorization(route, req))) {
    return isSocket(route) ? UNAUTHORIZED_SOCKET : UNAUTHORIZED
  }
  // an `Origin` check for browser-facing routes goes here, driven by a column of the table
  return null
}

/** The codes the policies may answer `route` with, for its API document. */
export function policyCodes(route: Route): PolicyRefusal['error'][] {
  return [
    ...(route.whileClosing === 'refuse' ? (['shutting_down'] as const) : []),
    ...(route.auth === 'open' ? [] : (['unauthorized'] as const)),
  ]
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
