/**
 * A request's claim on the pipeline. Its events are split into parts, one (or more, for very
 * large requests) per shard; the ticket settles when every part has, and fails on the first
 * part that fails. States: pending → stored (all parts committed) | failed.
 */
import { AggregatorError } from '../errors.js'

export interface Stored {
  accepted: number
  unique: number
  duplicates: number
}

/**
 * A batch the store could not take after its retries: every request in it fails. Its message is
 * fixed (requests may be answered with it); the cause, which may quote the database, is logged.
 */
export class BatchFailed extends AggregatorError {
  constructor(options?: ErrorOptions) {
    super('ERR_AGG_BATCH_FAILED', 'storing a batch failed (its cause is logged)', options)
  }
}

export class Ticket {
  readonly done: Promise<Stored>
  private parts = 0
  private unique = 0
  private sealed = false
  private settled = false
  private resolve!: (stored: Stored) => void
  private reject!: (error: Error) => void

  constructor(readonly accepted: number) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    // async acknowledgements never await `done`; their failures are logged by the shard
    this.done.catch(() => {})
  }

  addPart(): void {
    this.parts++
  }

  /** No more parts will be added; a ticket without events is stored at once. */
  seal(): void {
    this.sealed = true
    this.maybeStored()
  }

  partStored(stored: number): void {
    this.unique += stored
    this.parts--
    this.maybeStored()
  }

  private maybeStored(): void {
    if (this.parts > 0 || !this.sealed || this.settled) return
    this.settled = true
    const { accepted, unique } = this
    this.resolve({ accepted, unique, duplicates: accepted - unique })
  }

  partFailed(error: Error): void {
    this.parts--
    if (this.settled) return
    this.settled = true
    this.reject(error)
  }
}
