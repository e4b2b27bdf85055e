/**
 * The byte budget for request bodies being read and parsed at once (BODY_BUDGET_BYTES). Each
 * body reserves its bytes before they are buffered (its declared `Content-Length` up front, or
 * chunk by chunk when it has none) and gives them back once it is answered or its client leaves.
 * A body that cannot reserve is refused: memory is bounded by bytes, however many clients upload.
 */
export class BodyBudget {
  private used = 0

  constructor(readonly limitBytes: number) {}

  /** Bytes reserved by bodies not yet answered. */
  get inUseBytes(): number {
    return this.used
  }

  /** Takes `bytes` if they fit; false (nothing taken) when they do not. */
  reserve(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false
    this.used += bytes
    return true
  }

  release(bytes: number): void {
    this.used -= bytes
  }
}
