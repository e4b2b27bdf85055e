/**
 * Progress of a command-line tool on a terminal, as a bar redrawn in place (a count and a rate
 * when there is no total); elsewhere as a plain line every second.
 */
export class Progress {
  private readonly started = performance.now()
  private lastLine = 0
  /** The last count given, and the last one printed as a line: `end` prints it if they differ. */
  private done = 0
  private printed: number | null = null

  /** `what`: the count's words, e.g. "events acknowledged"; `total`: null when open-ended. */
  constructor(
    private readonly what: string,
    private readonly total: number | null,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number): void {
    this.done = done
    const now = performance.now()
    if (this.out.isTTY) {
      const width = 30
      const filled = this.total === null ? 0 : Math.round(Math.min(done / this.total, 1) * width)
      const bar = this.total === null ? '' : `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] `
      this.out.write(`\r${bar}${this.figures(done, now)} `)
    } else if (now - this.lastLine >= 1000 || done === this.total) {
      this.lastLine = now
      this.line(done, now)
    }
  }

  /**
   * Ends the bar's line on a terminal; elsewhere prints the last count unless it was the last
   * line: a run ending within a second of its last line would otherwise never show its total.
   */
  end(): void {
    if (this.out.isTTY) this.out.write('\n')
    else if (this.printed !== this.done) this.line(this.done, performance.now())
  }

  private line(done: number, now: number): void {
    this.printed = done
    this.out.write(`progress: ${this.figures(done, now)}\n`)
  }

  /** `12/100 events acknowledged, 40 events/s`. */
  private figures(done: number, now: number): string {
    const rate = Math.round(done / Math.max((now - this.started) / 1000, 0.001))
    const count = this.total === null ? `${done}` : `${done}/${this.total}`
    return `${count} ${this.what}, ${rate} events/s`
  }
}
