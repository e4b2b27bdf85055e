/**
 * One Server-Sent Events answer: a hub subscriber (src/feed/hub.ts) that writes frames on a
 * uWebSockets.js response, with a bounded buffer.
 *
 * Backpressure: `HttpResponse.write` returns false once the socket would not take the whole
 * chunk, and uWebSockets.js keeps the rest; `onWritable` fires when that has drained. So after a
 * refused write the stream queues its frames itself, and counts as buffered the chunk uWS kept
 * (at most all of it) plus the queue. Past `boundBytes` the subscriber is too slow: its queue is
 * dropped, it gets the `subscriber_too_slow` frame and the stream ends. A stream's memory is thus
 * at most its bound plus one chunk, however slow the client.
 */
import type { FeedEvent } from '../feed/feed.js'
import type { Sink, StreamEnd, Subscription } from '../feed/hub.js'
import type { Exchange } from './respond.js'

const HEARTBEAT = ': heartbeat\n\n'

/** What the last frame of an ended stream says, by reason. */
export const STREAM_ENDS: Record<StreamEnd, string> = {
  subscriber_too_slow:
    'this stream fell further behind than SUBSCRIBER_BUFFER_BYTES: reconnect with Last-Event-ID to resume',
  shutting_down: 'the server is shutting down: reconnect with Last-Event-ID to resume',
}

/** The frames of a page, built once however many subscribers it goes to. */
const pages = new WeakMap<readonly FeedEvent[], string>()

export function eventFrames(events: readonly FeedEvent[]): string {
  let text = pages.get(events)
  if (text === undefined) {
    text = events.map((e) => `id: ${e.cursor}\nevent: event\ndata: ${oneLine(e.json)}\n\n`).join('')
    pages.set(events, text)
  }
  return text
}

/** JSON may hold line breaks only as whitespace between tokens: a `data:` line must not. */
const oneLine = (json: string) => (/[\r\n]/.test(json) ? json.replace(/\r\n|[\r\n]/g, ' ') : json)

export const endFrame = (reason: StreamEnd) =>
  `event: error\ndata: ${JSON.stringify({ error: reason, message: STREAM_ENDS[reason] })}\n\n`

export class SseStream implements Sink {
  /** A write was refused: frames wait in `queue` until `onWritable`. */
  private blocked = false
  /** The refused chunk's size: an upper bound on what uWS holds for this response. */
  private held = 0
  private queue: string[] = []
  private queued = 0

  constructor(
    private readonly ex: Exchange,
    private readonly boundBytes: number,
    /** Told when the stream is cut for being too slow. */
    private readonly onTooSlow: () => void,
  ) {}

  /** Answers 200 and sends a first heartbeat, so the client knows it is subscribed. */
  start(subscription: Subscription): void {
    // ended by either side, the subscriber leaves the hub
    this.ex.whenSettled(() => subscription.cancel())
    this.ex.res.onWritable(() => this.drain())
    const headers = { 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' }
    this.written(this.ex.begin(200, 'text/event-stream', headers, HEARTBEAT), HEARTBEAT)
  }

  /** Buffered bytes for this stream, an upper bound. */
  get buffered(): number {
    return this.held + this.queued
  }

  deliver(events: readonly FeedEvent[]): void {
    this.send(eventFrames(events))
  }

  heartbeat(): void {
    // a stream with frames waiting is not idle: nothing to add
    if (!this.blocked) this.send(HEARTBEAT)
  }

  end(reason: StreamEnd): void {
    this.queue = []
    this.queued = 0
    this.ex.finish(endFrame(reason))
  }

  private send(text: string): void {
    if (this.ex.settled) return
    if (!this.blocked) {
      this.written(this.ex.write(text), text)
      return
    }
    this.queue.push(text)
    this.queued += Buffer.byteLength(text)
    if (this.buffered > this.boundBytes) {
      this.onTooSlow()
      this.end('subscriber_too_slow')
    }
  }

  private written(ok: boolean, text: string): void {
    this.blocked = !ok
    this.held = ok ? 0 : Buffer.byteLength(text)
  }

  /** uWS drained what it held: the queue goes out as one chunk. */
  private drain(): boolean {
    if (!this.blocked || this.ex.settled) return true
    const text = this.queue.join('')
    this.queue = []
    this.queued = 0
    if (text === '') {
      this.written(true, text)
      return true
    }
    const ok = this.ex.write(text)
    this.written(ok, text)
    return ok
  }
}
