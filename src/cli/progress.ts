/**
 * Progress of a command-line tool on a terminal, as a bar redrawn in place (a count and a rate
 * when there is no total); elsewhere as a plain line every second.
 */
export class Progress {
  private readonly started = performance.now()
  private lastLine = 0

  /** `what`: the count's words, e.g. "events acknowledged"; `total`: null when open-ended. */
  constructor(
    private readonly what: string,
    private readonly total: number | null,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number): void {
    const now = performance.now()
    const rate = Math.round(done / Math.max((now - this.started) / 1000, 0.001))
    const count = this.total === null ? `${done}` : `${done}/${this.total}`
    if (this.out.isTTY) {
      const width = 30
      const filled = this.total === null ? 0 : Math.round(Math.min(done / this.total, 1) * width)
      const bar = this.total === null ? '' : `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] `
      this.out.write(`\r${bar}${count} ${this.what}, ${rate} events/s `)
    } else if (now - this.lastLine >= 1000 || done === this.total) {
      this.lastLine = now
      this.out.write(`progress: ${count} ${this.what}, ${rate} events/s\n`)
    }
  }

  /** Ends the bar's line on a terminal; elsewhere the last count was printed within a second. */
  end(): void {
    if (this.out.isTTY) this.out.write('\n')
  }
}
