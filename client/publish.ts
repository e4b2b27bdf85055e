/**
 * Publishing at least once: events cut into batches, each sent (gzipped) until the server
 * acknowledges it, a few batches in flight at a time. A retry resends the whole batch; whatever
 * of it the server had already stored comes back counted as duplicates, so the stored effect is
 * exactly once (README.md in this folder).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { gzip as gzipCallback, constants } from 'node:zlib'
import { batches, type Batch, type BatchLimits } from './batches.js'
import { ClientError } from './errors.js'
import type { PublishEvent } from './events.js'
import { exchange, refusal, type Answer, type Endpoint } from './http.js'
import { isRetryable, retryDelay, type RetryPolicy } from './retry.js'

const gzip = promisify(gzipCallback)

export interface PublishSettings {
  endpoint: Endpoint
  batch: BatchLimits
  /** Requests in flight at once. */
  concurrency: number
  gzip: boolean
  retry: RetryPolicy
}

export interface PublishOptions {
  /** `durable` (default): answered once committed; `async`: once queued (see the main README). */
  ack?: 'durable' | 'async'
  /** Stops sending: pending waits and requests are abandoned and publish() rejects. */
  signal?: AbortSignal
  /** Called as each batch is acknowledged, in the order the answers arrive. */
  onBatch?: (batch: BatchOutcome) => void
}

export interface BatchOutcome {
  events: number
  /** 1 when the first attempt was acknowledged. */
  attempts: number
  /** New events stored and duplicates dropped, as answered; null with `ack: 'async'`. */
  unique: number | null
  duplicates: number | null
}

export interface PublishResult {
  /** Events acknowledged. */
  events: number
  /** Batches acknowledged. */
  requests: number
  /** Attempts beyond each batch's first: each may have re-sent events already stored. */
  retries: number
  /** Sums of the answers' counts; null with `ack: 'async'` (a 202 does not count). */
  unique: number | null
  duplicates: number | null
}

/**
 * publish() failed: `reason` says why (a `ClientError` unless aborted), `published` what was
 * acknowledged before it stopped; events not acknowledged may or may not be stored.
 */
export class PublishError extends Error {
  constructor(
    readonly reason: Error,
    readonly published: PublishResult,
  ) {
    super(reason.message, { cause: reason })
  }
}

export async function publish(
  settings: PublishSettings,
  events: Iterable<PublishEvent>,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const ack = options.ack ?? 'durable'
  const result: PublishResult = {
    events: 0,
    requests: 0,
    retries: 0,
    unique: ack === 'durable' ? 0 : null,
    duplicates: ack === 'durable' ? 0 : null,
  }
  const pending = batches(events, settings.batch)
  let failure: Error | null = null
  const worker = async () => {
    for (let next = pending.next(); failure === null && !next.done; next = pending.next()) {
      try {
        const outcome = await sendBatch(settings, next.value, ack, options.signal)
        result.events += outcome.events
        result.requests++
        result.retries += outcome.attempts - 1
        if (outcome.unique !== null) result.unique! += outcome.unique
        if (outcome.duplicates !== null) result.duplicates! += outcome.duplicates
        options.onBatch?.(outcome)
      } catch (error) {
        failure ??= error as Error
      }
    }
  }
  await Promise.all(Array.from({ length: settings.concurrency }, worker))
  if (failure !== null) throw new PublishError(failure, result)
  return result
}

async function sendBatch(
  settings: PublishSettings,
  batch: Batch,
  ack: 'durable' | 'async',
  signal: AbortSignal | undefined,
): Promise<BatchOutcome> {
  const json = Buffer.from(batch.body)
  // speed over ratio: a body is compressed once and sent once, usually over a fast network
  const body = settings.gzip ? await gzip(json, { level: constants.Z_BEST_SPEED }) : json
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (settings.gzip) headers['content-encoding'] = 'gzip'
  const started = Date.now()
  for (let attempt = 1; ; attempt++) {
    let answer: Answer | null = null
    let failure: ClientError
    try {
      answer = await exchange(settings.endpoint, `/publish?ack=${ack}`, {
        method: 'POST',
        headers,
        body,
        signal,
      })
    } catch (error) {
      if (!(error instanceof ClientError)) throw error
      failure = error
    }
    if (answer !== null) {
      if (answer.status < 300) return outcome(batch, attempt, answer)
      const { code, message } = refusal(answer)
      const retryable = isRetryable(answer.status)
      failure = new ClientError(
        `${answer.status}${code === null ? '' : ` ${code}`}: ${message}`,
        retryable ? 'gave_up' : 'refused',
        answer.status,
        code,
      )
      if (!retryable) throw failure
    }
    const wait = retryDelay(settings.retry, attempt, answer?.headers.get('retry-after') ?? null)
    if (Date.now() + wait - started > settings.retry.giveUpAfterMs) {
      throw new ClientError(
        `gave up after ${attempt} attempts in ${Math.round((Date.now() - started) / 1000)} s: ${failure!.message}`,
        failure!.kind,
        failure!.status,
        failure!.code,
        { cause: failure! },
      )
    }
    await sleep(wait, undefined, { signal })
  }
}

function outcome(batch: Batch, attempts: number, answer: Answer): BatchOutcome {
  const counts = answer.body as { unique?: unknown; duplicates?: unknown }
  return {
    events: batch.events,
    attempts,
    unique: typeof counts.unique === 'number' ? counts.unique : null,
    duplicates: typeof counts.duplicates === 'number' ? counts.duplicates : null,
  }
}
