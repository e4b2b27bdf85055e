/**
 * The benchmark's events: ~320 bytes each, like the older systems' demo load, with a share of
 * re-sends of earlier events (some in the same request). Generated lazily, request by request,
 * so a long sustained run never holds millions of events in memory.
 */
import type { EventRecord } from '../src/db/store.js'
import { parsePublishBody } from '../src/ingest/request.js'
import { random } from '../src/publisher/plan.js'

export interface WorkloadOptions {
  eventsPerRequest: number
  duplicates: number
  seed: number
  /** Prefix of every event_id, so runs on one table never collide by accident. */
  runId: string
  topics?: number
}

const EMPTY = Buffer.alloc(0)

export class Workload {
  /** Events generated so far, and how many of them were new keys. */
  events = 0
  unique = 0
  private readonly recent: string[] = []
  private readonly prepared: Buffer[] = []
  private nextPrepared = 0
  private readonly rand: () => number

  constructor(private readonly options: WorkloadOptions) {
    this.rand = random(options.seed)
  }

  /**
   * Generates the next `requests` bodies now, before the clock starts: on a shared machine the
   * generator's CPU would otherwise be taken from the system under test (the database limit's
   * rows are encoded up front too).
   */
  prepare(requests: number): void {
    for (let i = 0; i < requests; i++) this.prepared.push(Buffer.from(this.generate()))
  }

  /** One request body: a JSON array, or a single object when one event per request. */
  nextBody(): string | Buffer {
    if (this.nextPrepared < this.prepared.length) {
      const body = this.prepared[this.nextPrepared]!
      // released as it is sent: a long run's bodies are not all held to the end
      this.prepared[this.nextPrepared++] = EMPTY
      return body
    }
    return this.generate()
  }

  private generate(): string {
    const { eventsPerRequest } = this.options
    const parts = new Array<string>(eventsPerRequest)
    for (let i = 0; i < eventsPerRequest; i++) parts[i] = this.nextEvent()
    return eventsPerRequest === 1 ? parts[0]! : `[${parts.join(',')}]`
  }

  /** Events as the edge hands them to the store, for references that bypass HTTP. */
  nextRecords(n: number): EventRecord[] {
    const body = `[${Array.from({ length: n }, () => this.nextEvent()).join(',')}]`
    const parsed = parsePublishBody(Buffer.from(body), n)
    if (!parsed.ok) throw new Error(`the edge refused the workload: ${parsed.rejection.message}`)
    return parsed.events
  }

  private nextEvent(): string {
    this.events++
    let json: string
    if (this.recent.length > 0 && this.rand() < this.options.duplicates) {
      json = this.recent[Math.floor(this.rand() * this.recent.length)]!
    } else {
      json = this.fresh(this.unique++)
      // a bounded window of candidates for re-sends keeps memory flat
      if (this.recent.length < 50_000) this.recent.push(json)
      else this.recent[Math.floor(this.rand() * this.recent.length)] = json
    }
    return json
  }

  private fresh(n: number): string {
    const topic = `bench.topic-${n % (this.options.topics ?? 10)}`
    return JSON.stringify({
      topic,
      event_id: `${this.options.runId}-${n}`,
      timestamp: new Date(Date.UTC(2025, 9, 21, 10) + n * 1000).toISOString(),
      source: 'payment-gateway-A',
      payload: {
        content: `Transaction ${n} ok for user ${Math.floor(this.rand() * 100_000)}`,
        metadata: { amount: Math.floor(this.rand() * 1_000_000), currency: 'IDR', retries: 0 },
        order: { id: `ORD-${n.toString(36).padStart(8, '0')}`, channel: 'mobile', items: 3 },
      },
    })
  }
}
