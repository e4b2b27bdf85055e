/** For operators and their tools: liveness, readiness and Prometheus metrics. */
import type { HttpRequest } from 'uWebSockets.js'
import { ERRORS } from '../../errors.js'
import { internalError } from '../failures.js'
import { json, page } from '../openapi.js'
import type { Exchange } from '../respond.js'
import type { HttpEndpoint, RouteContext } from '../route.js'

export const health: HttpEndpoint = {
  handle: (ex: Exchange, _req: HttpRequest, { options }: RouteContext) =>
    ex.json(200, JSON.stringify({ status: 'ok', version: options.version })),
  errors: [],
  openapi: {
    summary: 'Process alive',
    responses: {
      '200': json('ok, and the running version', {
        type: 'object',
        properties: { status: { type: 'string', enum: ['ok'] }, version: { type: 'string' } },
      }),
    },
  },
}

/**
 * Load balancers poll this one while the server closes: it says so in its own words, from the
 * signal on, while every other route still serves, so the balancer stops sending first.
 */
export const readyz: HttpEndpoint = {
  handle(ex: Exchange, _req: HttpRequest, { closing, services, options }: RouteContext): void {
    if (closing) {
      const retryAfter = String(ERRORS.shutting_down.retryAfter)
      ex.json(503, JSON.stringify({ status: 'closing', checks: {} }), { 'Retry-After': retryAfter })
      return
    }
    services.ready().then(
      ({ ready, checks }) =>
        ex.json(
          ready ? 200 : 503,
          JSON.stringify({ status: ready ? 'ready' : 'not_ready', checks }),
        ),
      (error: unknown) => internalError(ex, options.log, error),
    )
  },
  errors: ['internal'],
  openapi: {
    summary: 'Database reachable and every worker up',
    responses: {
      '200': json('ready', { type: 'object' }),
      '503': json('not ready', { type: 'object' }),
    },
  },
}

export const metrics: HttpEndpoint = {
  handle(ex: Exchange, _req: HttpRequest, { options }: RouteContext): void {
    options.metrics.text().then(
      (text) => ex.send(200, options.metrics.contentType, text),
      (error: unknown) => internalError(ex, options.log, error),
    )
  },
  errors: ['internal'],
  openapi: page('Prometheus metrics', 'text/plain'),
}
