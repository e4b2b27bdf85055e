/**
 * Every route the server answers, with its policies in columns. Registration, the 405 answers,
 * the API document's paths and the policies the dispatcher applies (closing, origin, auth) all
 * derive from this one list; the endpoints (handler, error codes, OpenAPI operation) are in
 * routes/.
 */
import type { Route } from './route.js'
import { live } from './routes/live.js'
import { health, metrics, readyz } from './routes/operations.js'
import { dashboard, docsAssets, docsPage, openapi } from './routes/pages.js'
import { publish, publishBatch } from './routes/publish.js'
import { events, stats, topics } from './routes/read.js'
import { eventStream } from './routes/stream.js'

// prettier-ignore
// a foreign page may store events or watch the feed without reading an answer: `origin: 'same'`
export const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/publish',       label: 'publish',   auth: 'publish', origin: 'same', whileClosing: 'refuse', ...publish },
  { method: 'POST', path: '/publish/batch', label: 'publish',   auth: 'publish', origin: 'same', whileClosing: 'refuse', ...publishBatch },
  { method: 'GET',  path: '/events',        label: 'events',    auth: 'read',    origin: 'any',  whileClosing: 'refuse', ...events },
  // a stream in progress is ended with its `shutting_down` frame
  { method: 'GET',  path: '/events/stream', label: 'stream',    auth: 'read',    origin: 'any',  whileClosing: 'refuse', ...eventStream },
  { method: 'GET',  path: '/stats',         label: 'stats',     auth: 'read',    origin: 'any',  whileClosing: 'refuse', ...stats },
  { method: 'GET',  path: '/topics',        label: 'topics',    auth: 'read',    origin: 'any',  whileClosing: 'refuse', ...topics },
  // orchestrators keep probing while the server drains
  { method: 'GET',  path: '/health',        label: 'health',    auth: 'open',    origin: 'any',  whileClosing: 'serve',  ...health },
  { method: 'GET',  path: '/healthz',       label: 'health',    auth: 'open',    origin: 'any',  whileClosing: 'serve',  ...health },
  { method: 'GET',  path: '/readyz',        label: 'readyz',    auth: 'open',    origin: 'any',  whileClosing: 'serve',  ...readyz },
  { method: 'GET',  path: '/',              label: 'dashboard', auth: 'open',    origin: 'any',  whileClosing: 'refuse', ...dashboard },
  { method: 'GET',  path: '/dashboard',     label: 'dashboard', auth: 'open',    origin: 'any',  whileClosing: 'refuse', ...dashboard },
  { method: 'GET',  path: '/live',          label: 'live',      auth: 'read',    origin: 'same', whileClosing: 'refuse', ...live },
  { method: 'GET',  path: '/metrics',       label: 'metrics',   auth: 'read',    origin: 'any',  whileClosing: 'refuse', ...metrics },
  { method: 'GET',  path: '/openapi.json',  label: 'openapi',   auth: 'open',    origin: 'any',  whileClosing: 'refuse', ...openapi },
  { method: 'GET',  path: '/docs',          label: 'docs',      auth: 'open',    origin: 'any',  whileClosing: 'refuse', ...docsPage },
  { method: 'GET',  path: '/docs/*',        label: 'docs',      auth: 'open',    origin: 'any',  whileClosing: 'refuse', ...docsAssets },
]

/**
 * The `Allow` header for each path, for 405 answers. A pattern (`/docs/*`) names no resource of
 * its own, so a path under it with another method is simply not found.
 */
export const ALLOWED: ReadonlyMap<string, string> = allowed(ROUTES)

function allowed(routes: readonly Route[]): Map<string, string> {
  const methods = new Map<string, string>()
  for (const { path, method } of routes) {
    if (path.endsWith('*')) continue
    const known = methods.get(path)
    methods.set(path, known === undefined ? method : `${known}, ${method}`)
  }
  return methods
}
