/**
 * One snapshot shared by every reader (`/stats`, the `/live` feed, start-up). A snapshot is
 * answered from memory while it is younger than `maxAgeMs` and this process has changed nothing
 * it counts since (`version`: committed batches, refusals), so a client that publishes and then
 * reads sees its own events, and pollers with nothing new cost one read a second. Callers that
 * arrive while a read of the same version is in flight share it: concurrent `/stats` calls cost
 * one database read. There is never more than one read at a time: callers that need a newer one
 * while a read runs all wait for it to end and share the next. A failed read is not kept: the
 * next caller tries again, so an outage is reported as it happens and its end is seen at once.
 */
interface Taken<T> {
  value: Promise<T>
  version: number
  at: number
  settled: boolean
}

export class SharedSnapshot<T> {
  private last: Taken<T> | null = null
  /** The read that starts when the one in flight ends. */
  private next: Promise<T> | null = null

  constructor(
    private readonly read: () => Promise<T>,
    private readonly version: () => number,
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(): Promise<T> {
    const version = this.version()
    const last = this.last
    if (
      last !== null &&
      last.version === version &&
      (!last.settled || this.now() - last.at < this.maxAgeMs)
    ) {
      return last.value
    }
    if (last !== null && !last.settled) {
      const after = () => {
        this.next = null
        return this.start()
      }
      return (this.next ??= last.value.then(after, after))
    }
    return this.start()
  }

  private start(): Promise<T> {
    const taken: Taken<T> = {
      value: this.read(),
      version: this.version(),
      at: this.now(),
      settled: false,
    }
    this.last = taken
    taken.value.then(
      () => (taken.settled = true),
      () => {
        if (this.last === taken) this.last = null
      },
    )
    return taken.value
  }
}
