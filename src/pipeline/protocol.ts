/** What crosses the thread boundary between a shard and its worker: plain strings and numbers. */
import type { WriteOutcome } from '../db/store.js'
import type { DbTarget } from '../db/target.js'

export interface WorkerConfig {
  /** The store's name: the worker resolves it from the registry (src/db/store.ts). */
  store: string
  target: DbTarget
  instanceId: string
  shard: number
  /** Bound on one flush attempt (COPY + merge + commit). */
  attemptTimeoutMs: number
  /** How long transient failures are retried before the batch fails. */
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
}

export interface FlushResult extends WriteOutcome {
  attempts: number
  /** From the task's arrival at the worker to its commit, retries included. */
  ms: number
}
