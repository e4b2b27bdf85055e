/** Refused publish requests, added to this replica's rows (see the `rejections` table). */
import type { Sql } from './connect.js'

export interface RefusalCount {
  requests: number
  events: number
}

export async function saveRejections(
  sql: Sql,
  instance: string,
  byReason: ReadonlyMap<string, RefusalCount>,
): Promise<void> {
  if (byReason.size === 0) return
  const reasons = [...byReason.keys()].sort()
  const requests = reasons.map((r) => byReason.get(r)!.requests)
  const events = reasons.map((r) => byReason.get(r)!.events)
  await sql`
    INSERT INTO rejections AS r (instance, reason, requests, events)
    SELECT ${instance}, reason, requests, events
    FROM unnest(${reasons}::text[], ${requests}::bigint[], ${events}::bigint[])
      AS u(reason, requests, events)
    ON CONFLICT (instance, reason) DO UPDATE
    SET requests = r.requests + excluded.requests, events = r.events + excluded.events`
}
