/**
 * Schema migrations, applied in order at start-up. Idempotent, and safe when several replicas
 * start at once: one transaction under an advisory lock, each version recorded once.
 */
import type { Sql } from './connect.js'
import { requireUtf8 } from './encoding.js'

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE events (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- "C" collation: byte order is all the unique index needs, and is the fastest to compare.
    topic       text COLLATE "C" NOT NULL,
    event_id    text COLLATE "C" NOT NULL,
    ts          timestamptz NOT NULL,
    source      text        NOT NULL,
    -- json, not jsonb: keeps the payload as published and was measured ~25% cheaper per row
    payload     json        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_topic_event_id_key UNIQUE (topic, event_id)
  );
  CREATE INDEX events_topic_seq ON events (topic, seq);

  -- One row per (replica, shard, topic): each shard only ever updates its own rows, so the
  -- counter update inside every merge never waits on another shard or replica.
  CREATE TABLE counters (
    instance          text   NOT NULL,
    shard             int    NOT NULL,
    topic             text COLLATE "C" NOT NULL,
    unique_processed  bigint NOT NULL DEFAULT 0,
    duplicate_dropped bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (instance, shard, topic)
  );
  `,
  `
  -- /topics pages through topics in byte order, and /stats groups by topic
  CREATE INDEX counters_topic ON counters (topic);

  -- Publish requests refused at the edge, per replica and error code (see src/stats/rejections.ts).
  CREATE TABLE rejections (
    instance text   NOT NULL,
    reason   text   NOT NULL,
    requests bigint NOT NULL DEFAULT 0,
    events   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (instance, reason)
  );
  `,
  `
  -- The feed's order (src/db/feed.ts): each row carries the id of the transaction that stored it
  -- (the merge's, by this default), and the feed serves rows whose transaction is below every
  -- transaction still open, in (xid, seq) order. Existing rows all get this migration's id and
  -- keep their seq order. Adding a column with a volatile default rewrites the table.
  ALTER TABLE events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
  CREATE INDEX events_xid_seq ON events (xid, seq);
  CREATE INDEX events_topic_xid_seq ON events (topic, xid, seq);
  -- the per-topic feed reads (topic, xid, seq) now; nothing else pages by (topic, seq)
  DROP INDEX events_topic_seq;
  `,
]

/** Arbitrary constant naming this service's migration lock. */
const LOCK_KEY = 7_268_114_903

export async function migrate(sql: Sql): Promise<number> {
  // before any schema is written into a database the events could not be stored in
  await requireUtf8(sql)
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY})`
    await tx`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`
    const [row] = await tx<{ version: number }[]>`
      SELECT coalesce(max(version), 0)::int AS version FROM schema_migrations`
    const current = row?.version ?? 0
    for (let version = current + 1; version <= MIGRATIONS.length; version++) {
      await tx.unsafe(MIGRATIONS[version - 1]!)
      await tx`INSERT INTO schema_migrations (version) VALUES (${version})`
    }
    return MIGRATIONS.length - current
  })
}
