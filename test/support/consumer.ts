/**
 * A consumer of `GET /events` as clients are told to write one: it resumes from `X-Next-Cursor`
 * (every answer has one) and long-polls while nothing is new.
 */

export interface Consumer {
  /** Event ids in the order received. */
  readonly received: string[]
  /** The cursor to resume from; `null` before the first answer. */
  cursor: string | null
}

export function consumer(): Consumer {
  return { received: [], cursor: null }
}

/** One request from where `c` stands; resolves with the page's event ids. */
export async function follow(
  base: string,
  c: Consumer,
  options: { topic?: string; wait?: number; limit?: number } = {},
): Promise<string[]> {
  const query = new URLSearchParams()
  if (options.topic !== undefined) query.set('topic', options.topic)
  if (c.cursor !== null) query.set('after', c.cursor)
  query.set('wait', String(options.wait ?? 0))
  query.set('limit', String(options.limit ?? 1000))
  const res = await fetch(`${base}/events?${query.toString()}`)
  const body = (await res.json()) as { event_id: string }[] | { error: string }
  if (!Array.isArray(body)) throw new Error(`GET /events answered ${res.status} ${body.error}`)
  const ids = body.map((e) => e.event_id)
  c.received.push(...ids)
  c.cursor = res.headers.get('x-next-cursor') ?? c.cursor
  return ids
}

/** Follows until `enough()` holds after a page, or `timeoutMs` passes; long polls of `wait` s. */
export async function tail(
  base: string,
  c: Consumer,
  enough: () => boolean,
  options: { topic?: string; wait?: number; limit?: number; timeoutMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000)
  while (Date.now() < deadline) {
    await follow(base, c, { wait: 2, ...options })
    if (enough()) return
  }
}
