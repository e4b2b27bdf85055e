/**
 * Stores one batch in one transaction: COPY into a temporary staging table of plain text columns
 * (COPY cannot fail on data), then one statement that casts, drops in-batch duplicates, inserts
 * in key order (concurrent batches from other replicas lock keys in the same order, so they
 * cannot deadlock), and adds the outcome to this shard's counter rows. The counters always agree
 * with the stored rows.
 *
 * What a batch costs beyond its rows is paid per round trip and per statement, so the path holds
 * only the four it needs (BEGIN, COPY, merge, COMMIT):
 * - the merge is a prepared statement: parsed once per session, planned once (its generic plan:
 *   no parameter changes its shape), and sent as one Bind/Execute instead of a Parse/Describe
 *   round trip and a fresh plan for every batch;
 * - the staging table lives as long as the session and is emptied by every commit (ON COMMIT
 *   DELETE ROWS truncates it: a DELETE would leave dead rows that nothing vacuums in a temporary
 *   table, and every later batch would scan them). It is created when a COPY finds it missing
 *   (SQLSTATE 42P01), not checked for in every batch: a session can be replaced under us at any
 *   time (postgres.js ends a connection after a random 30–60 min `max_lifetime` and opens a new
 *   one for the next query; a lost connection is reopened the same way), and such a batch is
 *   redone once on the same connection after creating it, never failed for it.
 */
import type postgres from 'postgres'
import type { Sql } from './connect.js'

const STAGING = `
  CREATE TEMP TABLE IF NOT EXISTS staging (
    part text, topic text COLLATE "C", event_id text COLLATE "C", ts text, source text,
    payload text
  ) ON COMMIT DELETE ROWS`

const MERGE = `
  WITH batch AS MATERIALIZED (
    SELECT part::bigint AS part, topic, event_id, ts, source, payload FROM staging
  ), firsts AS (
    SELECT DISTINCT ON (topic, event_id) part, topic, event_id, ts, source, payload
    FROM batch ORDER BY topic, event_id, part
  ), inserted AS (
    INSERT INTO events (topic, event_id, ts, source, payload)
    SELECT topic, event_id, ts::timestamptz, source, payload::json
    FROM firsts ORDER BY topic, event_id
    ON CONFLICT (topic, event_id) DO NOTHING
    RETURNING topic, event_id
  ), stored_per_topic AS (
    SELECT topic, count(*) AS stored FROM inserted GROUP BY topic
  ), per_topic AS (
    SELECT p.topic, p.received, coalesce(s.stored, 0) AS stored
    FROM (SELECT topic, count(*) AS received FROM batch GROUP BY topic) p
    LEFT JOIN stored_per_topic s USING (topic)
  ), counted AS (
    INSERT INTO counters AS c (instance, shard, topic, unique_processed, duplicate_dropped)
    SELECT $1, $2, topic, stored, received - stored FROM per_topic ORDER BY topic
    ON CONFLICT (instance, shard, topic) DO UPDATE
    SET unique_processed = c.unique_processed + excluded.unique_processed,
        duplicate_dropped = c.duplicate_dropped + excluded.duplicate_dropped
  ), per_part AS (
    SELECT f.part::text AS part, count(*)::int AS stored,
           json_agg(json_build_array(f.topic, f.event_id)) FILTER (WHERE $3) AS saved
    FROM inserted JOIN firsts f USING (topic, event_id)
    GROUP BY f.part
  )
  -- at least one row, so the transaction's id comes back even when nothing was new
  SELECT pg_current_xact_id()::text AS transaction, p.part, p.stored, p.saved
  FROM (VALUES (1)) AS one LEFT JOIN per_part p ON true`

export interface MergeOutcome {
  /** bigint as text: part ids outgrow int4 on a long-running shard. */
  part: string
  stored: number
  saved: [topic: string, eventId: string][] | null
}

/** A row of the merge: a part's outcome, or only the transaction's id when nothing was new. */
type MergeRow = { transaction: string } & (MergeOutcome | { part: null })

/** What a merge tells its caller as it goes. */
export interface MergeProgress {
  /** The session's backend, once the transaction has begun: a write that overruns is cancelled by it. */
  began(pid: number): void
  /**
   * The transaction's id (xid8, as text) and the outcome once the merge is done, just before
   * COMMIT is sent: from then until it is acknowledged, the batch is in doubt.
   */
  committing(transaction: string, outcomes: MergeOutcome[]): void
}

export async function mergeBatch(
  sql: Sql,
  rows: Uint8Array,
  owner: { instance: string; shard: number },
  listSaved: boolean,
  progress: MergeProgress,
): Promise<void> {
  const merge = () =>
    sql.begin(async (tx) => {
      await copyRows(tx, rows, progress)
      const params = [owner.instance, owner.shard, listSaved]
      const merged = await tx.unsafe<MergeRow[]>(MERGE, params, { prepare: true })
      const outcomes = merged.filter((row): row is MergeRow & MergeOutcome => row.part !== null)
      progress.committing(merged[0]!.transaction, outcomes)
    })
  try {
    await merge()
  } catch (error) {
    if ((error as { code?: unknown }).code !== UNDEFINED_TABLE) throw error
    // a new session: its COPY was refused before any row was written, nothing is in doubt
    await sql.unsafe(STAGING)
    await merge()
  }
}

const UNDEFINED_TABLE = '42P01'

/**
 * COPY the rows into staging, settled by the server's answer either way. postgres.js never
 * settles the writable when the server rejects the data after its last row
 * (porsager/postgres#1173, open): the error goes to the COPY query's `reject`, whose promise
 * already resolved with the writable, and is lost; the batch would hang until DB_TIMEOUT_MS and
 * be retried as if the connection were at fault. So that `reject` is wrapped to settle the COPY
 * with the real error (and its SQLSTATE). An error while rows are still being written arrives on
 * the writable itself. Once the server has accepted the COPY, the transaction is known to have
 * begun on its backend: `progress.began` learns which.
 */
async function copyRows(
  tx: postgres.TransactionSql,
  rows: Uint8Array,
  progress: MergeProgress,
): Promise<void> {
  const query = tx`COPY staging FROM STDIN`
  const copy = await query.writable()
  // postgres.js stamps a query with its connection's backend when it sends it (not typed)
  progress.began((query as unknown as { state: { pid: number } }).state.pid)
  await new Promise<void>((resolve, reject) => {
    // postgres.js rejects a query with its PostgresError (or a connection Error)
    const settles = query as unknown as { reject: (error: Error) => void }
    const rejectQuery = settles.reject
    settles.reject = (error) => {
      reject(error)
      rejectQuery(error)
    }
    copy.once('error', reject)
    copy.end(Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength), () => resolve())
  })
}
