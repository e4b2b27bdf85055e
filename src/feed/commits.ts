/**
 * Wake-ups for readers waiting on the feed (long polls, streams): a batch of this process
 * committed new events, or another replica announced one over LISTEN/NOTIFY. Bursts coalesce:
 * listeners run once per turn of the event loop however many commits arrived, and this process
 * announces at most once per ANNOUNCE_INTERVAL_MS, always after its last commit.
 */
import type { Sql } from '../db/connect.js'
import { announceCommit, listenForCommits } from '../db/feed.js'
import type { Logger } from '../log.js'

export interface CommitSignal {
  /**
   * `listener` runs (coalesced) whenever events may have become readable: a local batch committed
   * new rows, or another replica announced a commit (LISTEN/NOTIFY). Returns the unsubscribe
   * function.
   */
  subscribe(listener: () => void): () => void
}

/**
 * The least time between two announcements. Each NOTIFY is a transaction of its own (an xid, a
 * commit record, a signal to every listening backend); announcing after every commit sent one
 * for three batches in four under single-event load, where other replicas' streams read at most
 * every 50 ms anyway. So a replica hears of a commit at most this much later.
 */
export const ANNOUNCE_INTERVAL_MS = 20

export class Commits implements CommitSignal {
  private readonly listeners = new Set<() => void>()
  private waking = false
  /** A NOTIFY is in flight; a commit meanwhile sets `announceAgain`. */
  private announcing: Promise<void> | null = null
  private announceAgain = false
  /** The next announcement waits out the interval. */
  private scheduled: NodeJS.Timeout | null = null
  private lastAnnounced = -Infinity
  private unlisten: (() => Promise<void>) | null = null

  constructor(
    private readonly sql: Sql,
    /** Names this process in its announcements: it ignores its own. */
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  /** Starts listening to the other replicas; resolves once listening. */
  async listen(): Promise<void> {
    this.unlisten = await listenForCommits(
      this.sql,
      (instance) => {
        if (instance !== this.instance) this.wake()
      },
      // listening (re)started: what was announced while it was down is read now
      () => this.wake(),
    )
  }

  /** A batch of this process committed new events. */
  committed(): void {
    this.wake()
    this.announce()
  }

  subscribe(listener: () => void): () => void {
    // a function subscribed twice is two subscriptions: each unsubscribes its own
    const own = () => listener()
    this.listeners.add(own)
    return () => this.listeners.delete(own)
  }

  /** Sends what is still to announce at once, the interval notwithstanding, then stops listening. */
  async close(): Promise<void> {
    for (;;) {
      if (this.scheduled !== null) {
        clearTimeout(this.scheduled)
        this.scheduled = null
        this.send()
      }
      if (this.announcing === null) break
      // its end may schedule the announcement of commits made while it was in flight
      await this.announcing
    }
    await this.unlisten?.()
  }

  private wake(): void {
    if (this.waking) return
    this.waking = true
    setImmediate(() => {
      this.waking = false
      for (const listener of [...this.listeners]) listener()
    })
  }

  private announce(): void {
    // a scheduled announcement is sent after this commit: it covers it
    if (this.scheduled !== null) return
    if (this.announcing !== null) {
      this.announceAgain = true
      return
    }
    const wait = this.lastAnnounced + ANNOUNCE_INTERVAL_MS - performance.now()
    if (wait <= 0) {
      this.send()
      return
    }
    this.scheduled = setTimeout(() => {
      this.scheduled = null
      this.send()
    }, wait)
  }

  private send(): void {
    this.lastAnnounced = performance.now()
    this.announcing = announceCommit(this.sql, this.instance)
      .catch((error: unknown) =>
        // the other replicas' readers wait until their own next wake-up or their timeout
        this.log.warn({ err: error }, 'a commit could not be announced to the other replicas'),
      )
      .finally(() => {
        this.announcing = null
        if (this.announceAgain) {
          this.announceAgain = false
          this.announce()
        }
      })
  }
}
