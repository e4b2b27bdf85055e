/** The client: one aggregator's URL and token, and what to do with them. */
import { DEFAULT_BATCH, type BatchLimits } from './batches.js'
import { ClientError } from './errors.js'
import type { PublishEvent, Stats } from './events.js'
import { exchange, refusal, type Endpoint } from './http.js'
import {
  publish,
  type PublishOptions,
  type PublishResult,
  type PublishSettings,
} from './publish.js'
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js'
import {
  subscribe,
  type OnEvent,
  type SubscribeOptions,
  type SubscribeQuery,
  type Subscription,
} from './subscribe.js'

export interface ClientOptions extends Endpoint {
  /** Batch size limits for publish() (default 500 events, 1 MiB of JSON). */
  batch?: Partial<BatchLimits>
  /** Batches in flight at once during publish() (default 4). */
  concurrency?: number
  /** gzip request bodies (default true). */
  gzip?: boolean
  /** Backoff and retry budget, for publish() and the stream's reconnects. */
  retry?: Partial<RetryPolicy>
}

export class AggregatorClient {
  private readonly publishing: PublishSettings
  private readonly endpoint: Endpoint

  constructor(options: ClientOptions) {
    this.endpoint = { url: options.url, token: options.token }
    this.publishing = {
      endpoint: this.endpoint,
      batch: { ...DEFAULT_BATCH, ...options.batch },
      concurrency: options.concurrency ?? 4,
      gzip: options.gzip ?? true,
      retry: { ...DEFAULT_RETRY, ...options.retry },
    }
  }

  /** Sends the events at least once; see publish.ts and README.md for what that promises. */
  publish(events: Iterable<PublishEvent>, options?: PublishOptions): Promise<PublishResult> {
    return publish(this.publishing, events, options)
  }

  /** Follows the feed from `query.after`, resuming by itself; stop it with the handle. */
  subscribe(query: SubscribeQuery, onEvent: OnEvent, options?: SubscribeOptions): Subscription {
    return subscribe(
      { endpoint: this.endpoint, retry: this.publishing.retry },
      query,
      onEvent,
      options,
    )
  }

  /** `GET /stats`, once: a failure is thrown at once (`ClientError`), not retried. */
  async stats(): Promise<Stats> {
    const answer = await exchange(this.endpoint, '/stats', {})
    if (answer.status === 200) return answer.body as Stats
    const { code, message } = refusal(answer)
    throw new ClientError(
      `GET /stats: ${answer.status} ${code ?? ''}: ${message}`,
      'refused',
      answer.status,
      code,
    )
  }

  /**
   * `/stats` once nothing is in flight in the process answering, so its counts are final for
   * what was acknowledged; polled every 50 ms, for at most `timeoutMs`.
   */
  async settledStats(timeoutMs: number): Promise<Stats> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const stats = await this.stats()
      if (stats.in_flight === 0) return stats
      if (Date.now() > deadline) {
        throw new ClientError(
          `still ${stats.in_flight} events in flight after ${timeoutMs} ms`,
          'gave_up',
          200,
          null,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
