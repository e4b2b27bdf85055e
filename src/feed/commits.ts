/**
 * Wake-ups for readers waiting on the feed (long polls, streams): a batch of this process
 * committed new events, or another replica announced one over LISTEN/NOTIFY. Bursts coalesce:
 * listeners run once per turn of the event loop however many commits arrived, and at most one
 * NOTIFY is in flight (commits meanwhile are announced by one more).
 */
import type { Sql } from '../db/connect.js'
import { announceCommit, listenForCommits } from '../db/feed.js'
import type { Logger } from '../log.js'

export interface CommitSignal {
  /** `listener` runs (coalesced) whenever events may have become readable: a local batch committed new rows,
   *  or another replica announced a commit (LISTEN/NOTIFY). Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void
}

export class Commits implements CommitSignal {
  private readonly listeners = new Set<() => void>()
  private waking = false
  private announcing = false
  private announceAgain = false
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

  async close(): Promise<void> {
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
    if (this.announcing) {
      this.announceAgain = true
      return
    }
    this.announcing = true
    announceCommit(this.sql, this.instance)
      .catch((error: unknown) =>
        // the other replicas' readers wait until their own next wake-up or their timeout
        this.log.warn({ err: error }, 'a commit could not be announced to the other replicas'),
      )
      .finally(() => {
        this.announcing = false
        if (this.announceAgain) {
          this.announceAgain = false
          this.announce()
        }
      })
  }
}
