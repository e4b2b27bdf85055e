/**
 * Writing answers on a uWebSockets.js response. A response may be aborted by the client at any
 * await; `Exchange` remembers that, so nothing is ever written to a dead response, and every
 * write after an await is corked into one syscall.
 */
import type { HttpResponse } from 'uWebSockets.js'

const STATUS: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  408: '408 Request Timeout',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  422: '422 Unprocessable Entity',
  426: '426 Upgrade Required',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
}

export type Headers = Record<string, string>

/**
 * One request and its answer. `onSettled` runs once: with the status when answered, with null
 * when the client left first.
 */
export class Exchange {
  private aborted = false
  private answered = false

  constructor(
    readonly res: HttpResponse,
    private readonly onSettled: (status: number | null) => void = () => {},
  ) {
    res.onAborted(() => {
      this.aborted = true
      this.settle(null)
    })
  }

  get settled(): boolean {
    return this.aborted || this.answered
  }

  json(status: number, body: string, headers: Headers = {}, close = false): void {
    this.send(status, 'application/json', body, headers, close)
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

  private settle(status: number | null): void {
    if (this.answered) return
    this.answered = true
    this.onSettled(status)
  }

  /** An error answer: a stable code, a message, never a stack trace. */
  error(status: number, error: string, message: string, headers?: Headers, close = false): void {
    this.json(status, JSON.stringify({ error, message }), headers, close)
  }
}
