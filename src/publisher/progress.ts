/** Progress on a terminal as a bar redrawn in place; elsewhere as a plain line every second. */
export class Progress {
  private readonly started = performance.now()
  private lastLine = 0

  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number): void {
    const now = performance.now()
    const rate = Math.round(done / Math.max((now - this.started) / 1000, 0.001))
    if (this.out.isTTY) {
      const width = 30
      const filled = Math.round((done / this.total) * width)
      const bar = '#'.repeat(filled) + '.'.repeat(width - filled)
      this.out.write(`\r[${bar}] ${done}/${this.total} events, ${rate} events/s `)
    } else if (now - this.lastLine >= 1000 || done === this.total) {
      this.lastLine = now
      this.out.write(`progress: ${done}/${this.total} events acknowledged, ${rate} events/s\n`)
    }
  }

  end(): void {
    if (this.out.isTTY) this.out.write('\n')
  }
}
