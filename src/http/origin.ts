/**
 * Which web pages may call a route a browser could be turned against. Browsers send `Origin` on
 * every WebSocket handshake and every POST (even same-origin), and a page cannot forge it; other
 * clients (curl, SDKs, servers) send none and are never checked.
 *
 * Same origin is decided on host and port alone: the `Host` the request reached us as against
 * the `host[:port]` of an `http(s)` Origin. The scheme cannot take part, because this server
 * speaks plain HTTP and a TLS proxy in front of it turns `https://` pages into `http` requests;
 * browsers write both headers alike (lower-case, the scheme's default port omitted).
 * `ALLOWED_ORIGINS` names whole origins, scheme included, compared exactly.
 */

/** `scheme://host[:port]` and nothing more, in the form browsers send it; null if not an origin. */
export function serializedOrigin(text: string): string | null {
  if (!/^[a-z][a-z\d+.-]*:\/\/[^/?#@\s]+$/i.test(text) || !URL.canParse(text)) return null
  const url = new URL(text)
  // `host` drops the scheme's default port, as browsers do
  return `${url.protocol}//${url.host}`.toLowerCase()
}

export class Origins {
  private readonly any: boolean
  private readonly listed: ReadonlySet<string>

  /** `allowed`: origins as `serializedOrigin` writes them, or `*` for every page. */
  constructor(allowed: readonly string[]) {
    this.any = allowed.includes('*')
    this.listed = new Set(allowed)
  }

  /** Whether the page at `origin` (the raw header) may call us, reached as `host` (the raw header). */
  allows(origin: string, host: string): boolean {
    const page = origin.toLowerCase()
    if (this.any || this.listed.has(page)) return true
    // an opaque origin (`null`: sandboxed frames, file:// pages) never matches a host
    const authority = /^https?:\/\/([^/]+)$/.exec(page)?.[1]
    return authority !== undefined && authority === host.toLowerCase()
  }
}
