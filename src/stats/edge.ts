/**
 * Counts kept at the edge: events admitted, and publish requests refused (with the events they
 * carried where known), by error code. Every refusal is counted in one place, where its answer
 * is sent (the `publish` route's 4xx answers, src/stats/metrics.ts), whatever refused it: the
 * body reader (413, 408), content negotiation (415), decoding (bad gzip), the parser. The
 * parser alone knows how many events a refused body held and adds them (`refusedEvents`).
 * Refusals are persisted (src/db/rejections.ts) by `saveRefusals`, once a second and at
 * shutdown; until then they are `unsaved` and `/stats` adds them to the stored totals. Saving and reading the totals never overlap (`exclusive`), so
 * a refusal is counted once, stored or unsaved, never both or neither.
 */
import type { RefusalCount } from '../db/rejections.js'
import type { Logger } from '../log.js'

export class EdgeCounters {
  /** Events admitted to the pipeline. */
  accepted = 0
  /** Refusals since start-up, by error code, for /metrics. */
  readonly rejectedBy = new Map<string, RefusalCount>()
  readonly startedAt = new Date()
  /** Grows with every refusal: a cached snapshot older than the last one is stale. */
  refusals = 0
  private unsaved = new Map<string, RefusalCount>()
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly log: Logger) {}

  /** One refused publish request, by the error code it was answered with. */
  refuse(reason: string): void {
    this.refusals++
    add(this.rejectedBy, reason, 0, 1)
    add(this.unsaved, reason, 0, 1)
    this.log.debug({ reason }, 'publish refused')
  }

  /** The events of a body refused as `reason`, counted by the parser. */
  refusedEvents(reason: string, events: number): void {
    this.refusals++
    add(this.rejectedBy, reason, events, 0)
    add(this.unsaved, reason, events, 0)
  }

  unsavedTotal(): RefusalCount {
    let requests = 0
    let events = 0
    for (const c of this.unsaved.values()) {
      requests += c.requests
      events += c.events
    }
    return { requests, events }
  }

  /** Runs `work` after every earlier one has finished: reads and saves take turns. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.queue.then(work)
    this.queue = turn.catch(() => {})
    return turn
  }

  /** Hands the unsaved refusals to `save`; if it fails they stay unsaved for the next try. */
  saveRefusals(
    save: (byReason: ReadonlyMap<string, RefusalCount>) => Promise<void>,
  ): Promise<void> {
    return this.exclusive(async () => {
      const saving = this.unsaved
      if (saving.size === 0) return
      this.unsaved = new Map()
      try {
        await save(saving)
      } catch (error) {
        for (const [reason, c] of saving) add(this.unsaved, reason, c.events, c.requests)
        throw error
      }
    })
  }
}

function add(
  map: Map<string, RefusalCount>,
  reason: string,
  events: number,
  requests: number,
): void {
  const known = map.get(reason)
  if (known === undefined) map.set(reason, { requests, events })
  else {
    known.requests += requests
    known.events += events
  }
}
