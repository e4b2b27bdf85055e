/**
 * Pages of the feed: stored events after a cursor, each with the cursor after it. Stand-in until
 * the feed's own reader lands: it pages on `seq` over today's schema.
 */
import type { Sql } from '../db/connect.js'
import { EVENT_JSON } from '../db/read.js'
import type { Cursor } from './cursor.js'

export interface FeedQuery {
  readonly after: Cursor
  readonly topic: string | null
  readonly limit: number
  readonly maxBytes: number
}

/** `json`: the object `GET /events` lists. */
export interface FeedEvent {
  readonly cursor: Cursor
  readonly json: string
}

/** `next === after` when `events` is empty. */
export interface FeedPage {
  readonly events: readonly FeedEvent[]
  readonly next: Cursor
  readonly more: boolean
}

export type ReadFeed = (query: FeedQuery) => Promise<FeedPage>

/** Events one read builds at most, below any `limit`: PostgreSQL builds each one's JSON. */
const READ_EVENTS = 200

/** Reads the feed through `sql`: a page holds at least one event, and stops before `maxBytes`. */
export function feedReader(sql: Sql): ReadFeed {
  return async ({ after, topic, limit, maxBytes }) => {
    // rows up to the one that reaches `maxBytes`: that one is sent only when it is the first
    const rows = await sql.unsafe<{ cursor: string; json: string; before: string }[]>(
      `SELECT cursor, json, before FROM (
         SELECT seq, seq::text AS cursor, json,
                sum(octet_length(json)) OVER (ORDER BY seq) - octet_length(json) AS before
         FROM (SELECT seq, (${EVENT_JSON})::text AS json FROM events
               WHERE ${topic === null ? '$1::text IS NULL' : 'topic = $1'} AND seq > $2
               ORDER BY seq LIMIT $3) page) sized
       WHERE before < $4 ORDER BY seq`,
      [topic, after, Math.min(limit, READ_EVENTS), maxBytes],
    )
    const events = rows
      .filter((row, i) => i === 0 || Number(row.before) + Buffer.byteLength(row.json) <= maxBytes)
      .map((row) => ({ cursor: row.cursor as Cursor, json: row.json }))
    return {
      events,
      next: events.at(-1)?.cursor ?? after,
      more:
        rows.length === Math.min(limit, READ_EVENTS) ||
        events.length < rows.length ||
        (rows.length === 1 && Buffer.byteLength(rows[0]!.json) >= maxBytes),
    }
  }
}
