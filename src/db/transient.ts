/**
 * Failures worth retrying, and how long each deserves to wait: the connection went away, the
 * server asked us to try again, or another transaction held what we needed. Anything else is a
 * bug or a misconfiguration and fails the batch at once.
 *
 * Delays double from `firstMs` with each failed attempt, up to `maxMs`; the worker gives a batch
 * up when the next wait would pass its `DB_RETRY_MS`.
 */
export interface Backoff {
  firstMs: number
  maxMs: number
}

/** Another transaction held a lock or a snapshot we needed: it ends within milliseconds. */
const CONFLICT: Backoff = { firstMs: 10, maxMs: 200 }
/** The connection or the server went away: a new connection, soon, then less and less often. */
export const RECONNECT: Backoff = { firstMs: 50, maxMs: 1000 }
/** The server has no room for us: hammering it only makes that worse. */
const CROWDED: Backoff = { firstMs: 250, maxMs: 1000 }

const RETRYABLE = new Map<string, Backoff>([
  ['40001', CONFLICT], // serialization_failure
  ['40P01', CONFLICT], // deadlock_detected
  ['55P03', CONFLICT], // lock_not_available
  ['57P01', RECONNECT], // admin_shutdown
  ['57P02', RECONNECT], // crash_shutdown
  ['57P03', RECONNECT], // cannot_connect_now (starting up, shutting down)
  ['58030', RECONNECT], // io_error
  ['53300', CROWDED], // too_many_connections
  ['ECONNREFUSED', RECONNECT],
  ['ECONNRESET', RECONNECT],
  ['ENOENT', RECONNECT], // unix socket gone while the embedded server restarts
  ['EPIPE', RECONNECT],
  ['ETIMEDOUT', RECONNECT],
  ['EHOSTUNREACH', RECONNECT],
  ['ENETUNREACH', RECONNECT],
  ['EAI_AGAIN', RECONNECT],
  ['CONNECTION_CLOSED', RECONNECT], // postgres.js
  ['CONNECTION_ENDED', RECONNECT],
  ['CONNECTION_DESTROYED', RECONNECT],
  ['CONNECT_TIMEOUT', RECONNECT],
  ['ERR_AGG_ATTEMPT_TIMEOUT', RECONNECT], // the worker's bound on one attempt (workers/flush.ts)
  ['ERR_AGG_SESSION_NOT_STOPPED', RECONNECT], // that attempt, cancelled, still running (abandon.ts)
  ['ERR_AGG_SESSION_REPLACED', RECONNECT], // a COMMIT that reached a new session (merge.ts)
])

/** The backoff an error deserves, or `null` when it is not transient. */
export function backoffFor(error: unknown): Backoff | null {
  if (typeof error !== 'object' || error === null) return null
  const code = (error as { code?: unknown }).code
  if (typeof code !== 'string') return null
  // SQLSTATE class 08: connection exception, whatever the detail
  return RETRYABLE.get(code) ?? (code.startsWith('08') ? RECONNECT : null)
}

/** The wait after failed attempt number `attempt` (from 1). */
export function delayMs(backoff: Backoff, attempt: number): number {
  return Math.min(backoff.firstMs * 2 ** (attempt - 1), backoff.maxMs)
}
