/**
 * Keeps the counters table compact. Every replica (INSTANCE_ID, by default `hostname:port`)
 * writes its own rows, so each new instance id (a new container, a new port) adds a row per
 * (shard, topic) and `/stats` sums them all. At start-up the rows of every other instance are
 * folded into one rolled-up row per (shard, topic).
 *
 * Why this is exact under concurrent writers, even a replica still running with one of those
 * ids: the fold is one transaction that locks the rows it folds (`FOR UPDATE`), deletes them and
 * adds exactly the values its DELETE returned to the rolled-up row. A writer that updated a row
 * first makes the fold wait for its commit and then fold the updated values; a writer that comes
 * after waits for the fold's commit and then inserts a fresh row for its instance (its upsert
 * finds no conflict). Nothing is counted twice or lost. The rows are locked in (instance, shard,
 * topic) order, the order each writer (one per instance and shard) locks its own rows in
 * (src/db/merge.ts), so the fold cannot deadlock with them; only the fold writes the rolled-up
 * rows, and an advisory lock keeps two replicas starting at once from folding together.
 */
import type { Sql } from './connect.js'

/** The instance name of the rolled-up rows; INSTANCE_ID cannot be empty. */
export const ROLLED_UP = ''

/** Arbitrary constant naming the fold's lock (the migration lock is another). */
const LOCK_KEY = 7_268_114_904

/** Folds every instance's rows but `live`'s; returns how many rows were folded. */
export async function rollUpCounters(sql: Sql, live: string): Promise<number> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY})`
    const [row] = await tx<{ folded: number }[]>`
      WITH locked AS (
        SELECT instance, shard, topic FROM counters
        WHERE instance <> ${live} AND instance <> ${ROLLED_UP}
        ORDER BY instance, shard, topic
        FOR UPDATE
      ), gone AS (
        DELETE FROM counters c USING locked l
        WHERE c.instance = l.instance AND c.shard = l.shard AND c.topic = l.topic
        RETURNING c.shard, c.topic, c.unique_processed, c.duplicate_dropped
      ), folded AS (
        INSERT INTO counters AS c (instance, shard, topic, unique_processed, duplicate_dropped)
        SELECT ${ROLLED_UP}, shard, topic, sum(unique_processed), sum(duplicate_dropped)
        FROM gone GROUP BY shard, topic ORDER BY shard, topic
        ON CONFLICT (instance, shard, topic) DO UPDATE
        SET unique_processed = c.unique_processed + excluded.unique_processed,
            duplicate_dropped = c.duplicate_dropped + excluded.duplicate_dropped
      )
      SELECT count(*)::int AS folded FROM gone`
    return row?.folded ?? 0
  })
}
