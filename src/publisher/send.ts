/**
 * Delivers batches at least once: network errors and 503s are retried with backoff, honouring
 * `Retry-After`, until the deadline. A retry may deliver events the server already stored, so
 * the tally keeps retries apart from first attempts.
 */
import { setTimeout as sleep } from 'node:timers/promises'

export interface Delivery {
  status: number
  /** `unique` and `duplicates` exist only on durable (200) answers. */
  body: { accepted?: number; unique?: number; duplicates?: number; error?: string }
  attempts: number
}

export interface SendOptions {
  url: string
  ack: 'durable' | 'async'
  deadline: number
  /** Headers on every request: the content type, and a bearer token when one is given. */
  headers: Record<string, string>
}

export class GaveUp extends Error {
  readonly code = 'PUBLISHER_GAVE_UP'
}

export async function deliver(
  body: string,
  options: SendOptions,
  onRetry: (reason: string) => void,
): Promise<Delivery> {
  let backoffMs = 100
  for (let attempts = 1; ; attempts++) {
    let wait = backoffMs
    let reason: string
    try {
      const res = await fetch(`${options.url}/publish?ack=${options.ack}`, {
        method: 'POST',
        headers: options.headers,
        body,
      })
      const answer = (await res.json()) as Delivery['body']
      if (res.status !== 503) return { status: res.status, body: answer, attempts }
      reason = `503 ${answer.error ?? ''}`.trim()
      const retryAfter = Number(res.headers.get('retry-after'))
      if (retryAfter > 0) wait = retryAfter * 1000
    } catch (error) {
      reason =
        (error as Error).cause instanceof Error ? String((error as Error).cause) : String(error)
    }
    if (Date.now() + wait > options.deadline) {
      throw new GaveUp(`gave up after ${attempts} attempts: ${reason}`)
    }
    onRetry(reason)
    await sleep(wait)
    backoffMs = Math.min(backoffMs * 2, 5000)
  }
}
