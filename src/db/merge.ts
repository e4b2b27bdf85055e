/**
 * Stores one batch in one transaction: COPY into a temporary staging table of plain text columns
 * (COPY cannot fail on data), then one statement that casts, drops in-batch duplicates, inserts
 * in key order (concurrent batches from other replicas lock keys in the same order, so they
 * cannot deadlock), and adds the outcome to this shard's counter rows. The counters always agree
 * with the stored rows.
 *
 * The staging table is created once per connection and emptied by every commit (ON COMMIT
 * DELETE ROWS truncates it: a DELETE would leave dead rows that nothing vacuums in a temporary
 * table, and every later batch would scan them).
 */
import type { Sql } from './connect.js'

const STAGING = `
  CREATE TEMP TABLE staging (
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
  )
  SELECT f.part::text AS part, count(*)::int AS stored,
         json_agg(json_build_array(f.topic, f.event_id)) FILTER (WHERE $3) AS saved
  FROM inserted JOIN firsts f USING (topic, event_id)
  GROUP BY f.part`

export interface MergeOutcome {
  /** bigint as text: part ids outgrow int4 on a long-running shard. */
  part: string
  stored: number
  saved: [topic: string, eventId: string][] | null
}

/** Once per connection, before its first batch. */
export async function createStaging(sql: Sql): Promise<void> {
  await sql.unsafe(STAGING)
}

/** Whether an error means the connection's staging table is gone (the session was replaced). */
export function lostStaging(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null | undefined
  return e?.code === '42P01' && /"staging"/.test(String(e.message))
}

export async function mergeBatch(
  sql: Sql,
  rows: Uint8Array,
  owner: { instance: string; shard: number },
  listSaved: boolean,
): Promise<MergeOutcome[]> {
  return sql.begin(async (tx) => {
    const copy = await tx`COPY staging FROM STDIN`.writable()
    await new Promise<void>((resolve, reject) => {
      copy.once('error', reject)
      copy.end(Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength), () => resolve())
    })
    return tx.unsafe<MergeOutcome[]>(MERGE, [owner.instance, owner.shard, listSaved])
  })
}
