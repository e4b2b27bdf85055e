/**
 * The feed: every stored event exactly once, in one order that never changes once read (see
 * src/db/feed.ts for why), a page at a time from a cursor.
 */
import type { Sql } from '../db/connect.js'
import { readFeedPage } from '../db/feed.js'
import { cursorAt, positionOf, type Cursor } from './cursor.js'

export interface FeedQuery {
  readonly after: Cursor
  readonly topic: string | null
  readonly limit: number
  readonly maxBytes: number
  /**
   * How long to wait, at most, when committed events after `after` are held back behind older
   * transactions (default SETTLE_MS); 0 answers at once with what is readable.
   */
  readonly settleMs?: number
}

export interface FeedEvent {
  /** Resumes after this event. */
  readonly cursor: Cursor
  /** The event as `GET /events` lists it. */
  readonly json: string
}

export interface FeedPage {
  readonly events: readonly FeedEvent[]
  /** The last event's cursor; `after` when the page is empty. */
  readonly next: Cursor
  /** More may follow: the page is full by count or bytes, or committed events are held back. */
  readonly more: boolean
  /** Committed events after the page wait for an older transaction to end. */
  readonly held: boolean
}

export type ReadFeed = (query: FeedQuery) => Promise<FeedPage>

/**
 * How long a read waits for older transactions to end when events committed after them are held
 * back, before it answers with what it has. Most such transactions are other batches a moment
 * from committing; a read that follows a publish then sees the publish's events.
 */
export const SETTLE_MS = 2000
const FIRST_PAUSE_MS = 5
const LONGEST_PAUSE_MS = 100

export function feedReader(sql: Sql): ReadFeed {
  return async (query) => {
    const after = positionOf(query.after)
    const started = performance.now()
    const settleMs = query.settleMs ?? SETTLE_MS
    for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, LONGEST_PAUSE_MS)) {
      const read = await readFeedPage(sql, after, query.topic, query.limit, query.maxBytes)
      const full = read.rows.length === query.limit || read.cut
      if (full || !read.held || performance.now() - started + pause > settleMs) {
        const events = read.rows.map((row) => ({ cursor: cursorAt(row), json: row.json }))
        return {
          events,
          next: events.at(-1)?.cursor ?? query.after,
          more: full || read.held,
          held: read.held,
        }
      }
      await new Promise((resolve) => setTimeout(resolve, pause))
    }
  }
}
