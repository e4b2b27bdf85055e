/**
 * Waiting for the database at start-up. Containers start in any order, so a database that does
 * not answer yet is asked again, with backoff, until `waitMs` has passed, each failed attempt
 * logged. One that answers with an error waiting does not cure (a wrong password, no such
 * database) fails at once.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { AggregatorError } from '../errors.js'
import type { Logger } from '../log.js'
import type { Sql } from './connect.js'
import { ping } from './read.js'
import { backoffFor, delayMs, type Backoff } from './transient.js'

/** Slower than a worker's reconnects: a server starting takes seconds, not milliseconds. */
const STARTING: Backoff = { firstMs: 250, maxMs: 2000 }

/** `where` names the database in messages, without its password. */
export async function waitForDatabase(
  sql: Sql,
  where: string,
  waitMs: number,
  log: Logger,
): Promise<void> {
  const started = performance.now()
  for (let attempt = 1; ; attempt++) {
    try {
      await ping(sql)
      if (attempt > 1)
        log.info({ attempt }, `database ${where} reachable after ${attempt} attempts`)
      return
    } catch (error) {
      if (!notUpYet(error)) {
        throw new AggregatorError(
          'ERR_AGG_DB_REFUSED',
          `database ${where} refused the connection: ${reason(error)}`,
          { cause: error },
        )
      }
      const delay = delayMs(STARTING, attempt)
      const retry = performance.now() - started + delay <= waitMs
      log.warn(
        { err: error, attempt, retryInMs: retry ? delay : null },
        `database ${where} not reachable yet (attempt ${attempt}: ${reason(error)})`,
      )
      if (!retry) {
        throw new AggregatorError(
          'ERR_AGG_DB_UNREACHABLE',
          `database ${where} unreachable after ${attempt} attempts over DB_WAIT_MS=${waitMs}: ${reason(error)}`,
          { cause: error },
        )
      }
      await sleep(delay)
    }
  }
}

/**
 * Transient failures, as the workers retry them, and a host name that does not resolve yet:
 * a container's name resolves only once it runs.
 */
function notUpYet(error: unknown): boolean {
  return backoffFor(error) !== null || (error as { code?: unknown } | null)?.code === 'ENOTFOUND'
}

/** The driver's or the system's message, with its code when the message lacks it. */
function reason(error: unknown): string {
  const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown }
  const text = String(message ?? error)
  return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text
}
