/**
 * The PostgreSQL store: events encoded as COPY text rows (copy-text.ts), one connection per
 * worker with its temporary staging table (created by any batch that finds it missing), each
 * batch stored by COPY + one merge statement (merge.ts), a write that overran its time stopped
 * by its backend's pid (abandon.ts), a batch left in doubt by a lost commit acknowledgement
 * settled by its transaction's status (in-doubt.ts), and the retry table of transient failures
 * (transient.ts).
 */
import { stopBackend } from './abandon.js'
import { connect, type Sql } from './connect.js'
import { stagingRow } from './copy-text.js'
import { committed } from './in-doubt.js'
import { mergeBatch, type MergeOutcome } from './merge.js'
import type {
  BatchAttempts,
  ConnectionOptions,
  Store,
  StoreConnection,
  WriteOutcome,
} from './store.js'
import { backoffFor, delayMs } from './transient.js'

class PostgresConnection implements StoreConnection {
  private readonly sql: Sql
  /** The backend running the current write's transaction, once it has begun. */
  private backend: number | null = null

  constructor(private readonly options: ConnectionOptions) {
    this.sql = session(options)
  }

  async write(
    rows: Uint8Array,
    listSaved: boolean,
    attempts: BatchAttempts,
  ): Promise<WriteOutcome> {
    const landed = await this.settle(attempts)
    if (landed !== null) return landed
    this.backend = null
    // replaced by mergeBatch just before it sends COMMIT, which it awaits before resolving
    let outcome: WriteOutcome = { inserted: [], saved: [] }
    await mergeBatch(this.sql, rows, this.options.writer, listSaved, {
      began: (pid) => (this.backend = pid),
      committing: (transaction, outcomes) => {
        outcome = writeOutcome(outcomes)
        attempts.inDoubt = { transaction, outcome }
      },
    })
    return outcome
  }

  async settle(attempts: BatchAttempts): Promise<WriteOutcome | null> {
    const doubt = attempts.inDoubt
    if (doubt === null) return null
    if (await committed(this.sql, doubt.transaction)) return doubt.outcome
    attempts.inDoubt = null
    return null
  }

  async abandon(): Promise<boolean> {
    const pid = this.backend
    if (pid === null) {
      await this.close()
      return false
    }
    const other = session(this.options)
    try {
      await stopBackend(other, pid, () => this.close(), this.options.connectTimeoutMs)
      return true
    } finally {
      // closed by stopBackend unless the cancel itself failed
      await Promise.all([this.close(), end(other)])
    }
  }

  close(): Promise<void> {
    return end(this.sql)
  }
}

function session(options: ConnectionOptions): Sql {
  return connect(options.target, {
    // one connection: merge.ts holds each batch's transaction by hand, which needs it
    max: 1,
    connectTimeoutS: Math.max(1, Math.ceil(options.connectTimeoutMs / 1000)),
    onnotice: (notice) => process.emitWarning(`postgres notice: ${notice.message}`),
  })
}

function end(sql: Sql): Promise<void> {
  return sql.end({ timeout: 0 }).catch(() => {
    // closing a broken connection can itself fail; it is being dropped either way
  })
}

function writeOutcome(outcomes: MergeOutcome[]): WriteOutcome {
  const inserted: number[] = []
  const saved: WriteOutcome['saved'] = []
  for (const o of outcomes) {
    inserted.push(Number(o.part), o.stored)
    if (o.saved !== null) saved.push(...o.saved)
  }
  return { inserted, saved }
}

export const postgresStore: Store = {
  name: 'postgres',
  row: stagingRow,
  connect: (options) => new PostgresConnection(options),
  retryDelayMs(error, attempt) {
    const backoff = backoffFor(error)
    return backoff === null ? null : delayMs(backoff, attempt)
  },
}
