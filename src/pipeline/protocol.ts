/** What crosses the thread boundary between a shard and its worker: plain strings and numbers. */
import type { WriteOutcome } from '../db/store.js'
import type { DbTarget } from '../db/target.js'
import { AggregatorError } from '../errors.js'

export interface WorkerConfig {
  /** The store's name: the worker resolves it from the registry (src/db/store.ts). */
  store: string
  target: DbTarget
  instanceId: string
  shard: number
  /** Bound on one flush attempt (COPY + merge + commit). */
  attemptTimeoutMs: number
  /** How long transient failures are retried before the batch fails (the shard's budget). */
  retryMs: number
}

export interface FlushTask {
  /**
   * The batch's rows in the store's encoding, UTF-8, each tagged with the id of the part (request
   * share) it belongs to. Its memory is transferred, not copied, to the worker.
   */
  rows: Uint8Array
  /** Ask the store to name the stored keys (only for `debug` logs). */
  listSaved: boolean
  /** How long this task may go on retrying transient failures; one attempt is always made. */
  retryMs: number
}

export type FlushResult = FlushCommitted | FlushFailed

export interface FlushCommitted extends WriteOutcome {
  committed: true
  attempts: number
  /** From the task's arrival at the worker to its commit, retries included. */
  ms: number
}

/** A batch the worker gave up (structured clone would drop an error's code, so it is a value). */
export interface FlushFailed {
  committed: false
  /** The last error, with its code (a SQLSTATE, a postgres.js or errno code) and the attempts. */
  reason: string
  /**
   * The failure may lie in the batch's own content: an error that is not transient, or attempts
   * that overran their bound while the database answered (and stopped them when asked). Its
   * parts may then succeed apart. Never set while an earlier attempt's commit is in doubt.
   */
  divisible: boolean
}

/** The worker's account of a batch it gave up, as the main thread logs it. */
export class WriteGaveUp extends AggregatorError {
  constructor(reason: string) {
    super('ERR_AGG_WRITE_GAVE_UP', reason)
  }
}
