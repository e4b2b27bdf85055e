/**
 * Writing answers on a uWebSockets.js response. A response may be aborted by the client at any
 * await; `Exchange` remembers that, so nothing is ever written to a dead response, and every
 * write after an await is corked into one syscall.
 */
import type { HttpResponse } from 'uWebSockets.js'
import { errorSpec, type ErrorCode } from '../errors.js'

const STATUS: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  408: '408 Request Timeout',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  422: '422 Unprocessable Entity',
  426: '426 Upgrade Required',
  500: '500 Internal Server Error',
  501: '501 Not Implemented',
  503: '503 Service Unavailable',
}

export type Headers = Record<string, string>

/** What an error answer may carry beyond its code and message. */
export interface FailExtras {
  /** Written after the catalogue's own (`Retry-After`). */
  headers?: Headers
  /** More fields of the JSON body, after `error` and `message` (e.g. `issues`). */
  detail?: Record<string, unknown>
}

/**
 * One request and its answer. `onSettled` runs once: with the status (and the error code of an
 * error answer) when answered, with null when the client left first.
 */
export class Exchange {
  private aborted = false
  private answered = false
  /** Whether the request body was read to its end: see `ErrorSpec.closes`. */
  private bodyRead = false
  private failure: ErrorCode | null = null
  /** The status of a streamed answer once begun (`begin`). */
  private streaming: number | null = null
  /** Run once when the exchange settles, answered or aborted: what it holds is let go. */
  private settleHooks: (() => void)[] = []

  constructor(
    readonly res: HttpResponse,
    private readonly onSettled: (status: number | null, code: ErrorCode | null) => void = () => {},
  ) {
    res.onAborted(() => {
      this.aborted = true
      this.settle(null)
    })
  }

  get settled(): boolean {
    return this.aborted || this.answered
  }

  json(status: number, body: string, headers: Headers = {}): void {
    this.send(status, 'application/json', body, headers)
  }

  /** Sends a body once; later calls and calls after an abort are ignored. */
  send(
    status: number,
    type: string,
    body: string | Buffer,
    headers: Headers = {},
    close = false,
  ): void {
    if (this.settled) return
    this.res.cork(() => {
      this.res.writeStatus(STATUS[status] ?? String(status))
      this.res.writeHeader('Content-Type', type)
      for (const key in headers) this.res.writeHeader(key, headers[key]!)
      this.res.end(body, close)
    })
    this.settle(status)
  }

  /**
   * Starts a streamed answer: the head and a first chunk now, more with `write`, then `finish`.
   * The exchange settles when it finishes or the client leaves.
   */
  begin(status: number, type: string, headers: Headers, first: string): boolean {
    let written = false
    if (this.settled) return written
    this.res.cork(() => {
      this.res.writeStatus(STATUS[status] ?? String(status))
      this.res.writeHeader('Content-Type', type)
      for (const key in headers) this.res.writeHeader(key, headers[key]!)
      written = this.res.write(first)
    })
    this.streaming = status
    return written
  }

  /** One more chunk of a streamed answer: false when it was buffered (see `HttpResponse.write`). */
  write(chunk: string): boolean {
    let written = false
    if (!this.settled) this.res.cork(() => (written = this.res.write(chunk)))
    return written
  }

  /** Ends a streamed answer with a last chunk, and its connection. */
  finish(last: string): void {
    if (this.settled || this.streaming === null) return
    this.res.cork(() => this.res.end(last, true))
    this.settle(this.streaming)
  }

  private settle(status: number | null): void {
    if (this.answered) return
    this.answered = true
    this.onSettled(status, status === null ? null : this.failure)
    for (const hook of this.settleHooks.splice(0)) hook()
  }

  /**
   * Runs `hook` once the request is answered or its client leaves (at once if it already has):
   * the body reader frees its chunks and its budget here, not when a timer fires later.
   */
  whenSettled(hook: () => void): void {
    if (this.settled) hook()
    else this.settleHooks.push(hook)
  }

  /** Called by the body reader once the last chunk has arrived. */
  bodyReceived(): void {
    this.bodyRead = true
  }

  /**
   * An error answer: a stable code and a message, never a stack trace. The status, `Retry-After`
   * and whether the connection closes come from the catalogue (src/errors.ts).
   */
  fail(code: ErrorCode, message: string, extras: FailExtras = {}): void {
    const spec = errorSpec(code)
    const headers =
      spec.retryAfter === undefined
        ? extras.headers
        : { 'Retry-After': String(spec.retryAfter), ...extras.headers }
    const close = spec.closes === 'body-unread' ? !this.bodyRead : spec.closes
    const body = JSON.stringify({ error: code, message, ...extras.detail })
    if (!this.settled) this.failure = code
    this.send(spec.status, 'application/json', body, headers, close)
  }
}
