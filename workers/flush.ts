/**
 * A shard's worker thread. It owns one connection to the store named in its configuration,
 * opened lazily on its first batch and reopened after any failure, and stores one batch at a
 * time: the shard never sends another until this one settles, so batches queue up in the main
 * thread and grow under load.
 *
 * Each attempt is bounded by `attemptTimeoutMs`; failures the store calls transient are retried
 * after the delay it names until `retryMs` has passed, then the batch fails and the shard answers
 * its requests 503. The attempts at one batch share a `BatchAttempts`: a retry after a commit
 * whose acknowledgement was lost first learns whether that commit landed, and if it did, answers
 * its outcome instead of storing the batch again.
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

/** Drops the connection without waiting: a fresh one is opened for the next attempt. */
function discard(): void {
  void session?.close()
  session = null
}

class AttemptTimeout extends AggregatorError {
  constructor(ms: number) {
    super('ERR_AGG_ATTEMPT_TIMEOUT', `flush attempt exceeded ${ms} ms`)
  }
}

async function attempt(task: FlushTask, attempts: BatchAttempts): Promise<WriteOutcome> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AttemptTimeout(config.attemptTimeoutMs)),
      config.attemptTimeoutMs,
    )
  })
  try {
    return await Promise.race([write(task, attempts), timeout])
  } finally {
    clearTimeout(timer)
  }
}

function write(task: FlushTask, attempts: BatchAttempts): Promise<WriteOutcome> {
  session ??= store.connect({
    target: config.target,
    writer: { instance: config.instanceId, shard: config.shard },
    connectTimeoutMs: config.attemptTimeoutMs,
  })
  return session.write(task.rows, task.listSaved, attempts)
}

/**
 * The batch's last error, as the main thread logs it. Only an error's message crosses the thread
 * boundary (structured clone drops `code`), so the code (a SQLSTATE, a postgres.js or errno
 * code) is put in the message, with the number of attempts.
 */
class WriteGaveUp extends AggregatorError {
  constructor(error: unknown, attempts: number) {
    const { code, message } = error as { code?: unknown; message?: unknown }
    const tag = typeof code === 'string' ? `[${code}] ` : ''
    super(
      'ERR_AGG_WRITE_GAVE_UP',
      `${tag}${String(message)} (gave up after ${attempts} attempt${attempts > 1 ? 's' : ''})`,
      { cause: error },
    )
  }
}

export default async function flush(task: FlushTask): Promise<FlushResult> {
  const started = performance.now()
  // a retry after a commit whose acknowledgement was lost must not store the batch twice
  const shared: BatchAttempts = { inDoubt: null }
  for (let attempts = 1; ; attempts++) {
    const reused = session !== null
    try {
      const outcome = await attempt(task, shared)
      return { ...outcome, attempts, ms: performance.now() - started }
    } catch (error) {
      discard()
      const delayMs = store.retryDelayMs(error, attempts)
      // A connection that died while idle (a terminated or replaced session, a restarted server)
      // is only found out by the next write: that batch gets one fresh connection at once,
      // whatever DB_RETRY_MS allows, since the failure says nothing about the database now.
      if (delayMs !== null && reused && attempts === 1) continue
      if (delayMs === null || performance.now() - started + delayMs > config.retryMs) {
        throw new WriteGaveUp(error, attempts)
      }
      await sleep(delayMs)
    }
  }
}
