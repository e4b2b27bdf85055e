/**
 * A shard's worker thread. It owns one postgres.js connection, opened lazily on its first batch
 * and reopened after any failure, and stores one batch at a time: the shard never sends another
 * until this one settles, so batches queue up in the main thread and grow under load.
 *
 * Each attempt is bounded by `attemptTimeoutMs`; transient failures are retried with backoff
 * until `retryMs` has passed, then the batch fails and the shard answers its requests 503.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { workerData } from 'piscina'
import { connect, type Sql } from '../src/db/connect.js'
import { createStaging, lostStaging, mergeBatch, type MergeOutcome } from '../src/db/merge.js'
import { isTransient } from '../src/db/transient.js'
import type { FlushResult, FlushTask, WorkerConfig } from '../src/pipeline/protocol.js'

const config = workerData as WorkerConfig
const owner = { instance: config.instanceId, shard: config.shard }
let sql: Sql | null = null
/** Whether `sql`'s session has its staging table yet. */
let staged = false

function connection(): Sql {
  if (sql === null) {
    sql = connect(config.target, {
      max: 1,
      connectTimeoutS: Math.max(1, Math.ceil(config.attemptTimeoutMs / 1000)),
      onnotice: (notice) => process.emitWarning(`postgres notice: ${notice.message}`),
    })
    staged = false
  }
  return sql
}

/** Drops the connection without waiting: a fresh one is opened for the next attempt. */
function discard(): void {
  const old = sql
  sql = null
  old?.end({ timeout: 0 }).catch(() => {
    // closing a broken connection can itself fail; it is being replaced either way
  })
}

class AttemptTimeout extends Error {
  readonly code = 'ATTEMPT_TIMEOUT'
  constructor(ms: number) {
    super(`flush attempt exceeded ${ms} ms`)
  }
}

async function attempt(task: FlushTask): Promise<MergeOutcome[]> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AttemptTimeout(config.attemptTimeoutMs)),
      config.attemptTimeoutMs,
    )
  })
  try {
    return await Promise.race([store(connection(), task), timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function store(sql: Sql, task: FlushTask): Promise<MergeOutcome[]> {
  if (!staged) {
    await createStaging(sql)
    staged = true
  }
  return mergeBatch(sql, task.rows, owner, task.listSaved)
}

export default async function flush(task: FlushTask): Promise<FlushResult> {
  const started = performance.now()
  let backoffMs = 50
  for (let attempts = 1; ; attempts++) {
    try {
      const outcomes = await attempt(task)
      const inserted: number[] = []
      const saved: FlushResult['saved'] = []
      for (const o of outcomes) {
        inserted.push(Number(o.part), o.stored)
        if (o.saved !== null) saved.push(...o.saved)
      }
      return { inserted, saved, attempts, ms: performance.now() - started }
    } catch (error) {
      discard()
      const elapsed = performance.now() - started
      // a session postgres.js replaced by itself has lost its staging table: a new one fixes it
      const retryable = isTransient(error) || lostStaging(error)
      if (!retryable || elapsed + backoffMs > config.retryMs) throw error
      await sleep(backoffMs)
      backoffMs = Math.min(backoffMs * 2, 1000)
    }
  }
}
