/**
 * Stores one batch in one transaction: COPY into a temporary staging table of plain text columns
 * (COPY cannot fail on data), then one statement that casts, drops in-batch duplicates, inserts
 * in key order (concurrent batches from other replicas lock keys in the same order, so they
 * cannot deadlock), and adds the outcome to this shard's counter rows. The counters always agree
 * with the stored rows.
 *
 * What a batch costs beyond its rows is paid per round trip: on this project's 2-core test
 * machine a round trip cost the worker 50–80 µs of CPU and woke PostgreSQL's backend once more,
 * so a batch takes three (docs/performance.md, "Three round trips per batch"):
 * 1. one simple query holding `BEGIN`, the `COPY` and the `EXECUTE` of the merge; the server
 *    begins, and asks for the rows;
 * 2. the rows: the server copies them, runs the merge and answers its outcome;
 * 3. `COMMIT`, sent only once the outcome and the transaction's id are known, so a commit whose
 *    acknowledgement is lost can be settled (in-doubt.ts) instead of stored twice.
 *
 * The merge is prepared once per session (`PREPARE`): parsed once, planned once (its generic
 * plan: no parameter changes its shape). The staging table lives as long as the session and is
 * emptied by every commit (ON COMMIT DELETE ROWS truncates it: a DELETE would leave dead rows
 * that nothing vacuums in a temporary table, and every later batch would scan them). Both are
 * made when a batch finds them missing (SQLSTATE 42P01 or 26000), not checked for in every
 * batch: a session can be replaced under us at any time (postgres.js ends a connection after a
 * random 30–60 min `max_lifetime` and opens a new one for the next query; a lost connection is
 * reopened the same way), and such a batch is redone once on the same connection after making
 * them, never failed for it.
 *
 * The transaction is held by hand, which postgres.js allows on a client of one connection
 * (`max: 1`, postgres-store.ts). A COMMIT that reached a replacement session would succeed with
 * a mere warning while the merge's transaction died with its session, so the COMMIT must be
 * answered by the backend that ran the merge.
 */
import { AggregatorError } from '../errors.js'
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
   * COMMIT is sent: from then until it is acknowledged, the batch is in doubt. The COMMIT waits
   * for a promise returned here.
   */
  committing(transaction: string, outcomes: MergeOutcome[]): void | Promise<void>
}

/** The prepared merge's name in each writer's session. */
const MERGE_STATEMENT = 'merge_batch'

/** What a batch's first query may meet on a session that has not stored one yet. */
const UNPREPARED = new Set(['42P01', '26000']) // undefined_table, invalid_sql_statement_name

export class SessionReplaced extends AggregatorError {
  constructor(merged: number, committed: number) {
    super(
      'ERR_AGG_SESSION_REPLACED',
      `the session that ran the merge (backend ${merged}) was gone before its COMMIT, which went to backend ${committed}: nothing was committed`,
    )
  }
}

export async function mergeBatch(
  sql: Sql,
  rows: Uint8Array,
  owner: { instance: string; shard: number },
  listSaved: boolean,
  progress: MergeProgress,
): Promise<void> {
  const batch = `BEGIN; COPY staging FROM STDIN; EXECUTE ${MERGE_STATEMENT}(${literal(owner.instance)}, ${owner.shard}, ${listSaved})`
  let merged: Merged
  try {
    merged = await copyAndMerge(sql, batch, rows, progress)
  } catch (error) {
    if (!UNPREPARED.has(String((error as { code?: unknown }).code))) throw error
    // a new session: its COPY or merge was refused before any row was stored, nothing is in doubt
    await prepareSession(sql)
    merged = await copyAndMerge(sql, batch, rows, progress)
  }
  const outcomes = merged.rows.filter((row): row is MergeRow & MergeOutcome => row.part !== null)
  await progress.committing(merged.rows[0]!.transaction, outcomes)
  const commit = sql`COMMIT`
  await commit
  const committed = (commit as unknown as QueryInternals).state.pid
  if (committed !== merged.pid) throw new SessionReplaced(merged.pid, committed)
}

/** Ends the failed batch's transaction, then makes the staging table and the merge. */
async function prepareSession(sql: Sql): Promise<void> {
  await sql.unsafe(`ROLLBACK; ${STAGING}`).simple()
  const [prepared] = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = ${MERGE_STATEMENT}`
  if (prepared!.n === 0) {
    await sql.unsafe(`PREPARE ${MERGE_STATEMENT}(text, int, boolean) AS ${MERGE}`)
  }
}

/** A text as an SQL literal, whatever `standard_conforming_strings` says (as `quote_literal`). */
function literal(text: string): string {
  return `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`
}

/** postgres.js's query, as far as this module reaches into it (none of it is typed). */
interface QueryInternals {
  /** The backend of the connection that ran it, stamped when it is sent. */
  state: { pid: number }
  /** Settle the query's promise; postgres.js calls them as the server answers. */
  resolve: (value: unknown) => void
  reject: (error: Error) => void
}

interface Merged {
  /** The backend that ran the batch's transaction so far. */
  pid: number
  rows: MergeRow[]
}

/**
 * Sends the batch's simple query, then its rows once the server asks for them, and returns the
 * merge's rows. postgres.js settles a COPY query with its writable as soon as the server asks
 * for rows, and has no way to hand over what the statements after the COPY return: the query's
 * `resolve` is wrapped to catch its second call (at ReadyForQuery: one result per statement that
 * returned rows, the merge's last). Its `reject` is wrapped too: postgres.js never settles the
 * writable when the server rejects the data after its last row (porsager/postgres#1173, open),
 * so an error after the COPY began would be lost and the batch would hang until DB_TIMEOUT_MS;
 * this way it fails with the real error (and its SQLSTATE). An error while rows are still being
 * written arrives on the writable itself.
 */
async function copyAndMerge(
  sql: Sql,
  text: string,
  rows: Uint8Array,
  progress: MergeProgress,
): Promise<Merged> {
  const query = sql.unsafe(text)
  const internals = query as unknown as QueryInternals
  let fail!: (error: Error) => void
  const merged = new Promise<MergeRow[]>((resolve, reject) => {
    fail = reject
    const { resolve: resolveQuery, reject: rejectQuery } = internals
    internals.resolve = (writable) => {
      internals.resolve = (results) => resolve((results as MergeRow[][]).at(-1)!)
      resolveQuery(writable)
    }
    internals.reject = (error) => {
      reject(error)
      rejectQuery(error)
    }
  })
  // an error before the server asked for rows rejects the writable with it, which is thrown here
  merged.catch(() => {})
  const copy = await query.writable()
  // once the server has accepted the COPY, the transaction is known to have begun on its backend
  const pid = internals.state.pid
  progress.began(pid)
  copy.once('error', fail)
  copy.end(Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength))
  return { pid, rows: await merged }
}
