/**
 * When events may have become readable. Stand-in until the feed's own signal lands: it hears of
 * this process's commits only (no LISTEN/NOTIFY across replicas).
 */
export interface CommitSignal {
  /**
   * `listener` runs (coalesced) whenever events may have become readable. Returns the
   * unsubscribe function.
   */
  subscribe(listener: () => void): () => void
}

/** Told of each local commit that stored new rows; tells its listeners once per turn. */
export class LocalCommits implements CommitSignal {
  private readonly listeners = new Set<() => void>()
  private pending = false

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  committed(): void {
    if (this.pending) return
    this.pending = true
    queueMicrotask(() => {
      this.pending = false
      for (const listener of this.listeners) listener()
    })
  }
}
