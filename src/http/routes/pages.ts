/** What people read in a browser: the dashboard, the API document and Swagger UI over it. */
import type { HttpRequest } from 'uWebSockets.js'
import { DASHBOARD_CSP, DASHBOARD_HTML } from '../../dashboard/page.js'
import { page } from '../openapi.js'
import type { Exchange } from '../respond.js'
import type { HttpEndpoint, RouteContext } from '../route.js'

export const dashboard: HttpEndpoint = {
  handle: (ex: Exchange) =>
    ex.send(200, 'text/html; charset=utf-8', DASHBOARD_HTML, {
      'Content-Security-Policy': DASHBOARD_CSP,
      'Cache-Control': 'no-cache',
    }),
  errors: [],
  openapi: page('Live dashboard'),
}

export const openapi: HttpEndpoint = {
  handle: (ex: Exchange, _req: HttpRequest, { openapi }: RouteContext) =>
    ex.json(200, openapi, { 'Cache-Control': 'no-cache' }),
  errors: [],
  openapi: page('This document', 'application/json'),
}

function file(ex: Exchange, req: HttpRequest, { docs }: RouteContext): void {
  const url = req.getUrl()
  const found = docs.get(url)
  if (found === undefined) return ex.fail('not_found', `no file ${url}`)
  ex.send(200, found.type, found.body, { 'Cache-Control': 'public, max-age=3600' })
}

export const docsPage: HttpEndpoint = {
  handle: file,
  errors: [],
  openapi: page('Interactive API documentation'),
}

/** Swagger UI's script and style sheet: served, not part of the API. */
export const docsAssets: HttpEndpoint = { handle: file, errors: ['not_found'], openapi: null }
