/**
 * Following the feed live over `GET /events/stream` (Server-Sent Events), resuming after every
 * disconnect from the last cursor handled (`Last-Event-ID`), so the callback sees every stored
 * event once, in the feed's order. A cursor advances only once the callback has returned: an
 * event whose handling was cut short is delivered again after a resume, never skipped.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { ClientError } from './errors.js'
import type { ServerErrorCode, StoredEvent } from './events.js'
import { authorization, baseUrl, parseBody, refusal, type Endpoint } from './http.js'
import { isRetryable, retryDelay, type RetryPolicy } from './retry.js'
import { SseParser } from './sse.js'

export interface SubscribeQuery {
  /** Only this topic; every topic when absent. */
  topic?: string | undefined
  /** Start after this cursor (from a previous subscription's `cursor`); from the start when absent. */
  after?: string | undefined
}

/** Handles one event; the next waits until it has settled (a promise is awaited). */
export type OnEvent = (event: StoredEvent, cursor: string) => void | Promise<void>

export interface SubscribeOptions {
  /**
   * Why the stream was interrupted, each time it is resumed: a disconnect, an `error` frame
   * (`subscriber_too_slow`, `shutting_down`), a refusal worth retrying (503 `too_many_subscribers`).
   */
  onInterruption?: (interruption: Interruption) => void
  /** Reconnect when nothing, not even a heartbeat, arrived for this long (default 45 s). */
  idleTimeoutMs?: number
}

export interface Interruption {
  /** The server's code when it said why (error frame or refusal), else null. */
  code: ServerErrorCode | null
  message: string
  /** Milliseconds until the next connection. */
  retryInMs: number
}

export interface Subscription {
  /** The cursor after the last event handled (the `after` given until then); resume with it. */
  readonly cursor: string | undefined
  /** Connections opened so far: 1, plus one per resume. */
  readonly connections: number
  /**
   * Settles once the subscription ends: resolves after stop(); rejects when the server refused
   * it for good (`ClientError`: 400 `invalid_cursor`, 401, 403, 404, …) or the callback threw.
   */
  readonly done: Promise<void>
  /** Closes the stream; resolves once the callback in progress, if any, has returned. */
  stop(): Promise<void>
}

export interface SubscribeSettings {
  endpoint: Endpoint
  retry: RetryPolicy
}

export const DEFAULT_IDLE_TIMEOUT_MS = 45_000

export function subscribe(
  settings: SubscribeSettings,
  query: SubscribeQuery,
  onEvent: OnEvent,
  options: SubscribeOptions = {},
): Subscription {
  const stopping = new AbortController()
  const state = { cursor: query.after, connections: 0 }
  const follow = new Follower(settings, query, onEvent, options, state, stopping.signal)
  const done = follow.run()
  done.catch(() => {}) // observed here so that a caller who only calls stop() is not crashed
  return {
    get cursor() {
      return state.cursor
    },
    get connections() {
      return state.connections
    },
    done,
    async stop() {
      stopping.abort()
      await done.catch(() => {})
    },
  }
}

interface State {
  cursor: string | undefined
  connections: number
}

/** Why a connection ended, and so how soon to open the next. */
interface Ended {
  code: ServerErrorCode | null
  message: string
  /** The server asked for this wait (Retry-After); backoff otherwise. */
  retryAfter: string | null
  /** Events arrived on it: the server works, backoff starts over. */
  delivered: boolean
}

class Follower {
  constructor(
    private readonly settings: SubscribeSettings,
    private readonly query: SubscribeQuery,
    private readonly onEvent: OnEvent,
    private readonly options: SubscribeOptions,
    private readonly state: State,
    private readonly stopping: AbortSignal,
  ) {}

  async run(): Promise<void> {
    let failures = 0
    while (!this.stopping.aborted) {
      let ended: Ended
      try {
        ended = await this.connection()
      } catch (error) {
        if (this.stopping.aborted) return
        throw error
      }
      failures = ended.delivered ? 1 : failures + 1
      // told to resume at once: the cursor is known and the server is up
      const retryInMs =
        ended.code === 'subscriber_too_slow'
          ? 0
          : retryDelay(this.settings.retry, failures, ended.retryAfter)
      this.options.onInterruption?.({ code: ended.code, message: ended.message, retryInMs })
      try {
        await sleep(retryInMs, undefined, { signal: this.stopping })
      } catch {
        return // stopped while waiting
      }
    }
  }

  /** One connection, until it ends; a final refusal or a callback's error is thrown. */
  private async connection(): Promise<Ended> {
    const connection = new AbortController()
    const abort = () => connection.abort()
    this.stopping.addEventListener('abort', abort)
    const idleMs = this.options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
    const idle = setTimeout(abort, idleMs)
    let delivered = false
    try {
      const res = await this.open(connection.signal)
      if (res instanceof Response === false) return { ...res, delivered }
      this.state.connections++
      const parser = new SseParser()
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        idle.refresh()
        for (const frame of parser.push(chunk)) {
          if (frame.event === 'error')
            return { ...errorFrame(frame.data), retryAfter: null, delivered }
          if (frame.event !== 'event' || frame.id === undefined) continue
          await this.onEvent(JSON.parse(frame.data) as StoredEvent, frame.id)
          this.state.cursor = frame.id
          delivered = true
        }
      }
      return { code: null, message: 'the server ended the stream', retryAfter: null, delivered }
    } catch (error) {
      if (error instanceof ClientError && error.kind === 'refused') throw error
      if (this.stopping.aborted || !isNetworkError(error)) throw error
      const message = connection.signal.aborted
        ? `nothing arrived for ${idleMs} ms`
        : `the connection failed: ${(error as Error).message}`
      return { code: null, message, retryAfter: null, delivered }
    } finally {
      clearTimeout(idle)
      this.stopping.removeEventListener('abort', abort)
      connection.abort() // a connection left early (an error frame, a callback's error) is closed
    }
  }

  /** The stream's response, or why it was refused in a way worth retrying. */
  private async open(signal: AbortSignal): Promise<Response | Omit<Ended, 'delivered'>> {
    const { endpoint } = this.settings
    const params = new URLSearchParams()
    if (this.query.topic !== undefined) params.set('topic', this.query.topic)
    if (this.query.after !== undefined) params.set('after', this.query.after)
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      ...authorization(endpoint),
    }
    // the contract: Last-Event-ID wins over `after`, so a resume needs no new URL
    if (this.state.cursor !== undefined) headers['last-event-id'] = this.state.cursor
    const path = `/events/stream${params.size === 0 ? '' : `?${params.toString()}`}`
    const res = await fetch(baseUrl(endpoint) + path, { headers, signal })
    if (res.status === 200) return res
    const answer = { status: res.status, headers: res.headers, body: parseBody(await res.text()) }
    const { code, message } = refusal(answer)
    const text = `${res.status}${code === null ? '' : ` ${code}`}: ${message}`
    if (!isRetryable(res.status)) throw new ClientError(text, 'refused', res.status, code)
    return { code, message: text, retryAfter: res.headers.get('retry-after') }
  }
}

/** `data: {"error": code, "message": text}` of an `event: error` frame. */
function errorFrame(data: string): { code: ServerErrorCode | null; message: string } {
  return refusal({ status: 200, headers: new Headers(), body: parseBody(data) })
}

/** fetch() reports network failures as TypeError; an aborted connection as AbortError. */
function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError || (error as Error | null)?.name === 'AbortError'
}
