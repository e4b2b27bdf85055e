/**
 * The storage seam: everything the pipeline and the worker threads need from a store, behind one
 * interface, so a second store (another table layout, a partitioned or Citus-ready variant) is
 * one new module plus one entry in `STORES`, chosen by the `STORE` setting.
 *
 *   main thread    row(part, event)  once per event, on the hot path: a part's bytes are its rows
 *   worker thread  connect() → write(batch, attempts) … ; close() after any failure, abandon()
 *                  after an attempt that overran its bound; the next attempt at a batch first
 *                  settles an earlier attempt's commit left in doubt
 *                  retryDelayMs(error, attempt): wait and try again, or give the batch up
 *
 * Only the name crosses the thread boundary: each worker resolves the store with `storeNamed`.
 */
import { postgresStore } from './postgres-store.js'
import { AggregatorError } from '../errors.js'
import type { DbTarget } from './target.js'

/** An event as the edge validated it: every field is storable as is. */
export interface EventRecord {
  topic: string
  event_id: string
  timestamp: string
  source: string
  /** The payload's JSON text as published (src/ingest/body-scan.ts), valid and checked. */
  payload: string
}

export interface ConnectionOptions {
  target: DbTarget
  /** Names the writer's counter rows: replicas and shards never contend on them. */
  writer: { instance: string; shard: number }
  /** Bound on opening the connection. */
  connectTimeoutMs: number
}

export interface WriteOutcome {
  /** Flat pairs: part id, how many of its events were stored (the rest were duplicates). */
  inserted: number[]
  /** The key of every stored event, when the write was asked to list them. */
  saved: [topic: string, eventId: string][]
}

/**
 * What the attempts at one batch share. An attempt whose commit was sent but never acknowledged
 * (it timed out, or its connection was lost) leaves the batch in doubt: the next attempt must
 * learn whether that commit landed before writing again, or the batch would be counted twice
 * and its new events answered as duplicates.
 */
export interface BatchAttempts {
  inDoubt: InDoubt | null
}

export interface InDoubt {
  /** The store's name for the transaction whose commit was sent (PostgreSQL: its xid8). */
  transaction: string
  /** What the batch came to, if that transaction committed. */
  outcome: WriteOutcome
}

export interface StoreConnection {
  /**
   * Stores one batch in one transaction: the rows of one or more parts, all or none. Whatever
   * the write needs from its session (PostgreSQL: the temporary staging table) it prepares
   * itself when missing: the client library may replace a session between two writes.
   */
  write(rows: Uint8Array, listSaved: boolean, attempts: BatchAttempts): Promise<WriteOutcome>
  /**
   * Settles an earlier attempt's commit left in doubt (`write` does so first): its outcome if it
   * landed; `null`, and the doubt cleared, if it did not or there was none.
   */
  settle(attempts: BatchAttempts): Promise<WriteOutcome | null>
  /** Closes at once, abandoning a write in progress; never rejects (the connection may be broken). */
  close(): Promise<void>
  /**
   * Closes after a write that overran its time, first making the server stop it (PostgreSQL:
   * `pg_cancel_backend` from another connection), so it holds no locks and does no more work
   * while the batch is retried, and a commit it had sent is settled for good. Resolves `true`
   * once the server stopped it, `false` when nothing of the write had reached the server;
   * rejects when the server could not be asked or did not stop it in time.
   */
  abandon(): Promise<boolean>
}

export interface Store {
  readonly name: string
  /** One event as one row of a part, tagged with the part's id; a part's rows are concatenated. */
  row(part: number, event: EventRecord): string
  connect(options: ConnectionOptions): StoreConnection
  /**
   * After failed attempt number `attempt` (from 1): how long to wait before the next one, or
   * `null` when the error is not transient and the batch fails at once.
   */
  retryDelayMs(error: unknown, attempt: number): number | null
}

const STORES: readonly Store[] = [postgresStore]

/** For the `STORE` setting; the first is the default. */
export const STORE_NAMES = STORES.map((store) => store.name) as [string, ...string[]]

export class UnknownStore extends AggregatorError {
  constructor(name: string) {
    super('ERR_AGG_UNKNOWN_STORE', `no store is named "${name}" (known: ${STORE_NAMES.join(', ')})`)
  }
}

export function storeNamed(name: string): Store {
  const store = STORES.find((s) => s.name === name)
  if (store === undefined) throw new UnknownStore(name)
  return store
}
