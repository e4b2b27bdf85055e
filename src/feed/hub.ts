/**
 * Live subscribers of the feed, grouped by topic (null: every topic). A group keeps one tail
 * cursor and, on each wake-up, reads the page after it once and hands that same page to every
 * member at its tail: a hundred subscribers to one topic cost one read, not a hundred.
 *
 * A subscriber that starts behind (resuming from an older cursor) catches up with reads of its
 * own, a bounded page at a time, and joins the tail once the two positions meet. Cursors are
 * opaque, so "meet" is equality: the subscriber's own page holds the group's tail cursor, or the
 * group's page holds the subscriber's. Both move forward through one total order, so whichever
 * is behind reaches the other.
 *
 * Wake-ups come from the commit signal and from the heartbeat timer, which also sends every
 * subscriber its heartbeat: events a signal missed are found on the next beat at the latest. A
 * group reads for a signal at most once per `readIntervalMs`: a steady ingest commits hundreds of
 * batches a second, each read costs the database a fixed part however few events it finds, and
 * ten groups reading at every commit were measured to slow ingestion and their own delivery. A
 * full page is read on at once.
 *
 * Reads do not wait for older transactions (the feed's settling, meant for a read that follows a
 * publish): a stream gets what is readable at once. Events committed but held back behind an older
 * transaction are read again when that one commits (its signal), or HELD_RETRY_MS later, for a
 * transaction that announces nothing. Settling here cost streams up to its 2 s whenever two shards
 * kept transactions overlapping, which a steady ingest does.
 */
import type { CommitSignal } from './commits.js'
import type { Cursor } from './cursor.js'
import type { FeedEvent, FeedPage, ReadFeed } from './feed.js'

/** Why the server ends a subscriber's stream; the client resumes from its last cursor. */
export type StreamEnd = 'subscriber_too_slow' | 'shutting_down'

/** Where a subscriber's events go: the HTTP edge writes them out (src/http/sse.ts). */
export interface Sink {
  /** Events in feed order, each after the last one given. The same array goes to every member. */
  deliver(events: readonly FeedEvent[]): void
  heartbeat(): void
  /** The server ends the stream; the sink is not called again. */
  end(reason: StreamEnd): void
  /** Bytes waiting to be sent to this subscriber. */
  readonly buffered: number
}

export interface HubOptions {
  /** Most events and bytes in one read. */
  pageEvents: number
  pageBytes: number
  heartbeatMs: number
  /** Least time between the start of two reads of a group that commit signals asked for. */
  readIntervalMs: number
  /** Subscribers at once; `subscribe` refuses more. */
  max: number
  /** Told of a failed read; the group tries again on its next wake-up. */
  failed(error: unknown): void
}

/** What `/metrics` shows. */
export interface HubCounts {
  subscribers: number
  /** Reads of the feed: a group's shared ones and catch-up ones. */
  reads: number
  /** Bytes waiting to be sent, across subscribers. */
  bufferedBytes: number
}

interface Member {
  readonly sink: Sink
  /** The cursor of the last event given to this member. */
  cursor: Cursor
  /** At the group's tail: it gets the group's pages. */
  joined: boolean
  active: boolean
}

/** How soon a group reads again while committed events are held back behind an older transaction. */
export const HELD_RETRY_MS = 20

interface Group {
  readonly topic: string | null
  /** The cursor after the last page read for the members at the tail. */
  tail: Cursor
  readonly members: Set<Member>
  /** A wake-up runs; one asked meanwhile (`again`) follows it, `readIntervalMs` after its start. */
  running: boolean
  again: boolean
  /** The page read was full: the next one follows at once. */
  readOn: boolean
  /** When the last read started (performance.now()). */
  lastRead: number
  /** A later wake-up is scheduled: the read interval, or held-back events. */
  later: NodeJS.Timeout | null
}

export interface Subscription {
  /** The subscriber left (or its sink gave up): idempotent. */
  cancel(): void
}

export class Hub {
  private readonly groups = new Map<string | null, Group>()
  private subscribers = 0
  private reads = 0
  private closed = false
  private readonly timer: NodeJS.Timeout
  private readonly unsubscribe: () => void

  constructor(
    private readonly read: ReadFeed,
    commits: CommitSignal,
    private readonly options: HubOptions,
  ) {
    this.unsubscribe = commits.subscribe(() => this.wakeAll())
    this.timer = setInterval(() => this.beat(), options.heartbeatMs).unref()
  }

  get counts(): HubCounts {
    let bufferedBytes = 0
    for (const group of this.groups.values()) {
      for (const member of group.members) bufferedBytes += member.sink.buffered
    }
    return { subscribers: this.subscribers, reads: this.reads, bufferedBytes }
  }

  /** Follows the feed of `topic` after `after`; null when `max` subscribers are already here. */
  subscribe(topic: string | null, after: Cursor, sink: Sink): Subscription | null {
    if (this.closed || this.subscribers >= this.options.max) return null
    let group = this.groups.get(topic)
    if (group === undefined) {
      group = {
        topic,
        tail: after,
        members: new Set(),
        running: false,
        again: false,
        readOn: false,
        lastRead: -Infinity,
        later: null,
      }
      this.groups.set(topic, group)
    }
    // at the tail already (the first member, or one resuming where the group stands)
    const member: Member = { sink, cursor: after, joined: after === group.tail, active: true }
    group.members.add(member)
    this.subscribers++
    this.wake(group)
    const joinedGroup = group
    return { cancel: () => this.leave(joinedGroup, member) }
  }

  /** Ends every stream with `shutting_down`; no subscriber is taken after this. */
  close(): void {
    this.closed = true
    clearInterval(this.timer)
    this.unsubscribe()
    for (const group of this.groups.values()) {
      for (const member of group.members) {
        this.leave(group, member)
        member.sink.end('shutting_down')
      }
    }
  }

  private leave(group: Group, member: Member): void {
    if (!member.active) return
    member.active = false
    group.members.delete(member)
    this.subscribers--
    if (group.members.size === 0 && this.groups.get(group.topic) === group) {
      this.groups.delete(group.topic)
      clearTimeout(group.later ?? undefined)
    }
  }

  private beat(): void {
    for (const group of this.groups.values()) {
      for (const member of group.members) member.sink.heartbeat()
    }
    this.wakeAll()
  }

  private wakeAll(): void {
    for (const group of this.groups.values()) this.wake(group)
  }

  /** Runs the group's wake-ups one at a time, at most one per read interval. */
  private wake(group: Group): void {
    if (group.running) {
      group.again = true
      return
    }
    const wait = group.lastRead + this.options.readIntervalMs - performance.now()
    if (wait > 0) {
      this.wakeLater(group, wait)
      return
    }
    group.running = true
    void this.run(group)
  }

  private wakeLater(group: Group, ms: number): void {
    group.later ??= setTimeout(() => {
      group.later = null
      this.wake(group)
    }, ms).unref()
  }

  private async run(group: Group): Promise<void> {
    do {
      group.readOn = false
      group.lastRead = performance.now()
      try {
        await this.step(group)
      } catch (error) {
        // the database is unreachable: the next signal or heartbeat tries again
        this.options.failed(error)
        group.again = false
        break
      }
    } while (group.readOn && group.members.size > 0 && !this.closed)
    group.running = false
    if (group.again && group.members.size > 0 && !this.closed) {
      group.again = false
      this.wake(group)
    }
  }

  /** One wake-up: the shared read at the tail, then one catch-up read per member behind. */
  private async step(group: Group): Promise<void> {
    const from = group.tail
    const page = await this.page(group.topic, from)
    group.tail = page.next
    this.readOnIf(group, page)
    const behind: Member[] = []
    for (const member of group.members) {
      if (member.joined || member.cursor === from) {
        this.give(member, page.events, group.tail, true)
        continue
      }
      // a member ahead of the old tail joins where the group's page passes its cursor
      const at = page.events.findIndex((e) => e.cursor === member.cursor)
      if (at >= 0) this.give(member, page.events.slice(at + 1), group.tail, true)
      else behind.push(member)
    }
    await Promise.all(behind.map((member) => this.catchUp(group, member)))
  }

  /** One page of its own for a member behind the tail; it joins when the page reaches the tail. */
  private async catchUp(group: Group, member: Member): Promise<void> {
    const page = await this.page(group.topic, member.cursor)
    if (!member.active) return
    if (page.next === group.tail) {
      this.give(member, page.events, page.next, true)
      return
    }
    const at = page.events.findIndex((e) => e.cursor === group.tail)
    if (at >= 0) {
      this.give(member, page.events.slice(0, at + 1), group.tail, true)
      return
    }
    this.give(member, page.events, page.next, false)
    this.readOnIf(group, page)
  }

  /**
   * More may follow the page: read on at once if it had events (it may be full), or shortly if
   * what follows is only held back.
   */
  private readOnIf(group: Group, page: FeedPage): void {
    if (!page.more) return
    if (page.events.length > 0 || !page.held) group.readOn = true
    else this.wakeLater(group, HELD_RETRY_MS)
  }

  private async page(topic: string | null, after: Cursor) {
    this.reads++
    return this.read({
      after,
      topic,
      limit: this.options.pageEvents,
      maxBytes: this.options.pageBytes,
      settleMs: 0,
    })
  }

  private give(member: Member, events: readonly FeedEvent[], cursor: Cursor, joined: boolean) {
    if (!member.active) return
    member.cursor = cursor
    member.joined = joined
    if (events.length > 0) member.sink.deliver(events)
  }
}
