/** What crosses the thread boundary between a shard and its worker: plain strings and numbers. */
import type { DbTarget } from '../db/target.js'

export interface WorkerConfig {
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
   * COPY text rows, UTF-8, each starting with the id of the part (request share) it belongs to.
   * Its memory is transferred, not copied, to the worker.
   */
  rows: Uint8Array
  /** Ask the merge to name the stored keys (only for `debug` logs). */
  listSaved: boolean
}

export interface FlushResult {
  /** Flat pairs: part id, how many of its events were stored (the rest were duplicates). */
  inserted: number[]
  /** The key of every stored event, when `listSaved` was set. */
  saved: [topic: string, eventId: string][]
  attempts: number
  ms: number
}
