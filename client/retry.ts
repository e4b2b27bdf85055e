/**
 * When to try a request again, and after how long. Publishing is at least once and the server
 * drops duplicates by (topic, event_id), so resending after an uncertain outcome is always safe;
 * the only question is whether the answer can change by waiting.
 */
export interface RetryPolicy {
  /** First backoff step; each later step doubles, up to `capMs`. */
  baseMs: number
  capMs: number
  /** A request gives up once its next wait would end this long after its first attempt. */
  giveUpAfterMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 100, capMs: 5_000, giveUpAfterMs: 60_000 }

/**
 * Statuses worth retrying: a timeout reading the body (408), rate limits (429) and a server or
 * gateway that is overloaded, restarting or unreachable (502, 503, 504). Any other 4xx is about
 * the request itself and any other 5xx is not known to be temporary: both are final.
 */
export function isRetryable(status: number): boolean {
  return status === 408 || status === 429 || status === 502 || status === 503 || status === 504
}

/**
 * How long to wait before attempt `attempt + 1`: what the server asked (`Retry-After`, seconds or
 * an HTTP date) when it did, else exponential backoff with jitter so that many clients refused
 * together do not come back together. Equal jitter: half the step fixed, half random.
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfter: string | null,
  random: () => number = Math.random,
): number {
  const asked = parseRetryAfter(retryAfter, Date.now())
  if (asked !== undefined) return asked
  const step = Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1))
  return step / 2 + random() * (step / 2)
}

/** `Retry-After` in milliseconds, or undefined when absent or unreadable (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // an HTTP date names its day; Date.parse alone would read "-1" as the year -1
  const at = /^[a-z]{3}, /i.test(text) ? Date.parse(text) : NaN
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
