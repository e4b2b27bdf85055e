/** How a request through the client fails for good: refused, given up on, or never answered. */
import type { ServerErrorCode } from './events.js'

export type FailureKind =
  /** The server answered with a final status (a 4xx other than 408/429, or a 500). */
  | 'refused'
  /** Every attempt got a retryable answer (503, 429, …) until the retry budget ran out. */
  | 'gave_up'
  /** Nothing answered at the URL (connection refused, host not found, reset, …). */
  | 'unreachable'

export class ClientError extends Error {
  constructor(
    message: string,
    readonly kind: FailureKind,
    /** The last answer's status; null when nothing answered. */
    readonly status: number | null,
    /** The last answer's error code (`docs/errors.md`); null when it had none. */
    readonly code: ServerErrorCode | null,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/**
 * Why a request got no HTTP answer, in words. fetch() reports every network failure as
 * `TypeError: fetch failed`; the system error with its code is the cause.
 */
export function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause ?? error
  const code = (cause as { code?: unknown }).code
  const words = typeof code === 'string' ? NETWORK_ERRORS[code] : undefined
  if (words !== undefined) return `${words} (${String(code)})`
  return cause instanceof Error ? cause.message : String(cause)
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the other side',
}
