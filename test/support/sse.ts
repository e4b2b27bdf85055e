/**
 * A Server-Sent Events reader for tests: opens `GET path` with node:http, parses frames as they
 * arrive (per the SSE spec: fields up to a blank line, `:` lines are comments), and waits for
 * what a test expects, bounded in time.
 */
import http from 'node:http'

export interface Frame {
  id?: string
  event?: string
  data?: string
  comment?: string
}

export interface StreamedEvent {
  id: string
  event_id: string
  topic: string
}

export class SseReader {
  readonly frames: Frame[] = []
  /** The body of an answer that is not a stream (an error). */
  body = ''
  ended = false
  private buffer = ''
  private waiters: (() => void)[] = []

  private constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    private readonly req: http.ClientRequest,
    res: http.IncomingMessage,
  ) {
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      if (status === 200) this.parse(chunk)
      else this.body += chunk
      this.notify()
    })
    const end = () => {
      this.ended = true
      this.notify()
    }
    res.on('end', end)
    res.on('close', end)
    res.on('error', end)
  }

  static open(base: string, path: string, headers: Record<string, string> = {}) {
    return new Promise<SseReader>((resolve, reject) => {
      const req = http.get(base + path, { headers, agent: false }, (res) =>
        resolve(new SseReader(res.statusCode ?? 0, res.headers, req, res)),
      )
      req.on('error', reject)
    })
  }

  /** The `event: event` frames, parsed. */
  get events(): StreamedEvent[] {
    return this.frames
      .filter((f) => f.event === 'event')
      .map((f) => ({ id: f.id!, ...(JSON.parse(f.data!) as Omit<StreamedEvent, 'id'>) }))
  }

  /** Resolves once `done()` holds; rejects after `ms` or when the stream ended first. */
  async until(done: () => boolean, ms = 30_000, what = 'the stream'): Promise<void> {
    const deadline = Date.now() + ms
    while (!done()) {
      if (this.ended) throw new Error(`${what}: the stream ended first`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${what}: not within ${ms} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Waits for the server to end the stream. */
  async closed(ms = 30_000): Promise<void> {
    await this.until(() => this.ended, ms, 'the end')
  }

  close(): void {
    this.req.destroy()
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter()
  }

  private parse(chunk: string): void {
    this.buffer += chunk
    let end: number
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const frame: Frame = {}
      for (const line of this.buffer.slice(0, end).split('\n')) {
        if (line.startsWith(':')) frame.comment = line.slice(1).trim()
        else {
          const colon = line.indexOf(':')
          const field = line.slice(0, colon) as 'id' | 'event' | 'data'
          frame[field] = line.slice(colon + 1).replace(/^ /, '')
        }
      }
      this.frames.push(frame)
      this.buffer = this.buffer.slice(end + 2)
    }
  }
}
