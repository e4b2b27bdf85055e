/** One HTTP exchange with the aggregator: the base URL, the bearer token, the answer read whole. */
import { ClientError, describeNetworkError } from './errors.js'
import type { ServerErrorCode } from './events.js'

export interface Endpoint {
  /** Base URL, e.g. `http://127.0.0.1:8080` (a trailing slash is ignored). */
  readonly url: string
  /** Bearer token, for a server with AUTH_TOKENS. */
  readonly token?: string | undefined
}

export interface Answer {
  status: number
  headers: Headers
  /** The body as JSON, or as text when it is not JSON (a proxy's error page). */
  body: unknown
}

export function baseUrl(endpoint: Endpoint): string {
  return endpoint.url.replace(/\/+$/, '')
}

export function authorization(endpoint: Endpoint): Record<string, string> {
  return endpoint.token === undefined || endpoint.token === ''
    ? {}
    : { authorization: `Bearer ${endpoint.token}` }
}

/** Sends one request; a network failure throws a ClientError of kind `unreachable`. */
export async function exchange(
  endpoint: Endpoint,
  path: string,
  init: RequestInit,
): Promise<Answer> {
  const url = baseUrl(endpoint) + path
  try {
    const res = await fetch(url, {
      ...init,
      headers: { ...authorization(endpoint), ...init.headers },
    })
    // read inside the try: a connection reset while the answer arrives is no answer either
    const text = await res.text()
    return { status: res.status, headers: res.headers, body: parseBody(text) }
  } catch (error) {
    if (init.signal?.aborted === true) throw error // stopped by the caller: not a network failure
    throw new ClientError(
      `nothing answers at ${baseUrl(endpoint)}: ${describeNetworkError(error)}`,
      'unreachable',
      null,
      null,
      { cause: error },
    )
  }
}

/** The error code and message of an answer, when it carries the API's `{error, message}`. */
export function refusal(answer: Answer): { code: ServerErrorCode | null; message: string } {
  const body = answer.body as { error?: unknown; message?: unknown } | null
  const code = typeof body?.error === 'string' ? body.error : null
  const message =
    typeof body?.message === 'string' ? body.message : String(answer.body).slice(0, 200)
  return { code, message }
}

/** JSON when the text is JSON, else the text itself. */
export function parseBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}
