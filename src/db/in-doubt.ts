/**
 * Settles a batch left in doubt: did the transaction whose COMMIT was sent, but never
 * acknowledged, commit? PostgreSQL keeps every transaction's fate (`pg_xact_status`), so a new
 * session can ask. While the old session is still committing (a slow disk, a deferred trigger)
 * the answer is "in progress": wait for it. An old session still idle in that transaction never
 * received its COMMIT (its client is gone, the server has not noticed): ending it makes the
 * answer final (aborted) instead of waiting for TCP keepalives.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Sql } from './connect.js'

/** Between two looks at a commit still in progress: commits take milliseconds. */
const POLL_MS = 10

const STATUS = `
  SELECT pg_xact_status($1::xid8) AS status,
         (SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity
          WHERE backend_xid = $1::xid8::xid AND state LIKE 'idle in transaction%') AS ended`

/** Whether transaction `transaction` (an xid8, as text) committed. */
export async function committed(sql: Sql, transaction: string): Promise<boolean> {
  for (;;) {
    const [row] = await sql.unsafe<{ status: string | null }[]>(STATUS, [transaction])
    // null: too old to be known, which a retry seconds later never meets
    if (row!.status !== 'in progress') return row!.status === 'committed'
    await sleep(POLL_MS)
  }
}
