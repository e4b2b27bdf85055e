/**
 * Answers for failures behind the edge: the cause goes to the log, the client gets a stable
 * code and a fixed message, never the cause's details.
 */
import type { Logger } from '../log.js'
import type { Exchange } from './respond.js'

export function internalError(ex: Exchange, log: Logger, error: unknown): void {
  log.error({ err: error }, 'unexpected error while answering a request')
  ex.fail('internal', 'unexpected server error')
}

export function databaseUnavailable(ex: Exchange, log: Logger, error: unknown): void {
  log.warn({ err: error }, 'database read failed')
  ex.fail('database_unavailable', 'the database is not reachable')
}
