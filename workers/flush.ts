/**
 * A shard's worker thread. It owns one connection to the store named in its configuration,
 * opened lazily on its first batch and reopened after any failure, and stores one batch at a
 * time: the shard never sends another until this one settles, so batches queue up in the main
 * thread and grow under load.
 *
 * Each attempt is bounded by `attemptTimeoutMs`; an attempt that overruns it is stopped in the
 * store (`abandon()`: PostgreSQL cancels its statement) before anything else, so it holds no
 * locks while the batch is retried. Failures the store calls transient are retried after the
 * delay it names until the task's `retryMs` has passed; then the batch is given up, and the
 * result says whether its parts may succeed apart (the shard then splits it). The attempts at
 * one batch share a `BatchAttempts`: a retry after a commit whose acknowledgement was lost
 * first learns whether that commit landed, and if it did, answers its outcome instead of
 * storing the batch again.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { workerData } from 'piscina'
import {
  storeNamed,
  type BatchAttempts,
  type StoreConnection,
  type WriteOutcome,
} from '../src/db/store.js'
import { AggregatorError } from '../src/errors.js'
import type { FlushResult, FlushTask, WorkerConfig } from '../src/pipeline/protocol.js'

const config = workerData as WorkerConfig
const store = storeNamed(config.store)

/** The open connection; a failed attempt drops it. */
let session: StoreConnection | null = null

class AttemptTimeout extends AggregatorError {
  /** The store answered while the attempt ran, and stopped it when asked: the batch was slow. */
  stopped = false

  constructor(ms: number) {
    super('ERR_AGG_ATTEMPT_TIMEOUT', `flush attempt exceeded ${ms} ms`)
  }
}

/** One attempt at `work` on the open connection (opened if need be), bounded in time. */
async function attempt<T>(work: (connection: StoreConnection) => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AttemptTimeout(config.attemptTimeoutMs)),
      config.attemptTimeoutMs,
    )
  })
  try {
    session ??= store.connect({
      target: config.target,
      writer: { instance: config.instanceId, shard: config.shard },
      connectTimeoutMs: config.attemptTimeoutMs,
    })
    return await Promise.race([work(session), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Drops the connection after a failed attempt; a fresh one is opened for the next. An attempt
 * that timed out is stopped in the store first; returns the error the attempt stands for: a
 * failure to stop it replaces the timeout (the store did not answer).
 */
async function drop(error: unknown): Promise<unknown> {
  const dropped = session
  session = null
  if (!(error instanceof AttemptTimeout) || dropped === null) {
    void dropped?.close()
    return error
  }
  try {
    error.stopped = await dropped.abandon()
    return error
  } catch (failure) {
    return failure
  }
}

/**
 * The batch's last error, as the main thread logs it: its code (a SQLSTATE, a postgres.js or
 * errno code) in front of its message, with the number of attempts.
 */
function reason(error: unknown, attempts: number): string {
  const { code, message } = error as { code?: unknown; message?: unknown }
  const tag = typeof code === 'string' ? `[${code}] ` : ''
  return `${tag}${String(message)} (gave up after ${attempts} attempt${attempts > 1 ? 's' : ''})`
}

export default async function flush(task: FlushTask): Promise<FlushResult> {
  const started = performance.now()
  // a retry after a commit whose acknowledgement was lost must not store the batch twice
  const shared: BatchAttempts = { inDoubt: null }
  for (let attempts = 1; ; attempts++) {
    const reused = session !== null
    let error: unknown
    try {
      const outcome = await attempt((s) => s.write(task.rows, task.listSaved, shared))
      return { committed: true, ...outcome, attempts, ms: performance.now() - started }
    } catch (thrown) {
      error = await drop(thrown)
    }
    const delayMs = store.retryDelayMs(error, attempts)
    // A connection that died while idle (a terminated or replaced session, a restarted server)
    // is only found out by the next write: that batch gets one fresh connection at once,
    // whatever DB_RETRY_MS allows, since the failure says nothing about the database now.
    if (delayMs !== null && reused && attempts === 1) continue
    if (delayMs === null || performance.now() - started + delayMs > task.retryMs) {
      const content = delayMs === null || (error instanceof AttemptTimeout && error.stopped)
      if (!content) return { committed: false, reason: reason(error, attempts), divisible: false }
      // the last attempt may have sent its commit: if it landed, the batch is stored; if it is
      // still in doubt, storing the batch's parts apart could store and count them twice
      const landed = await settled(shared)
      if (landed !== null)
        return { committed: true, ...landed, attempts, ms: performance.now() - started }
      return {
        committed: false,
        reason: reason(error, attempts),
        divisible: shared.inDoubt === null,
      }
    }
    await sleep(delayMs)
  }
}

/**
 * One attempt at settling a commit left in doubt, for a batch about to be given up: its outcome
 * if it landed. Should the store not answer, the doubt stands, and the caller gives the batch up
 * whole, with the error that ended its writes.
 */
async function settled(shared: BatchAttempts): Promise<WriteOutcome | null> {
  if (shared.inDoubt === null) return null
  try {
    return await attempt((s) => s.settle(shared))
  } catch (error) {
    await drop(error)
    return null
  }
}
