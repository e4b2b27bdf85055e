/**
 * The feed's order rests on transaction ids only growing. A dump restored into another cluster
 * keeps its stored ids while that cluster counts from its own, lower, ones: new events would sort
 * behind cursors already given out, and consumers would never see them. Start-up refuses that.
 */
import type { Sql } from '../db/connect.js'
import { xidsBehindStored } from '../db/feed.js'
import { AggregatorError } from '../errors.js'

/** pg_resetwal's advice: a value at the start of a pg_xact segment is safe to move to. */
const SEGMENT = 1n << 20n
const EPOCH = 1n << 32n

export async function requireXidsAhead(sql: Sql): Promise<void> {
  const stored = await xidsBehindStored(sql)
  if (stored === null) return
  const next = BigInt(stored) + 1n
  let epoch = next / EPOCH
  let xid = ((next % EPOCH) / SEGMENT + 1n) * SEGMENT
  if (xid >= EPOCH) {
    epoch += 1n
    xid = SEGMENT
  }
  throw new AggregatorError(
    'ERR_AGG_FEED_XIDS',
    `stored events carry transaction ids up to ${stored}, at or above this cluster's next one (was the database restored from another cluster?): new events would sort behind the cursors consumers hold. Stop PostgreSQL and move its counter past them with \`pg_resetwal -e ${epoch} -x ${xid} <data directory>\`, or restore into a cluster whose counter is already past them.`,
  )
}
