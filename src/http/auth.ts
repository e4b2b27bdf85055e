/**
 * Optional bearer tokens. Each presented token is hashed and compared with every configured
 * token's hash in constant time, so neither a token's content nor its length leaks through
 * timing, nor which configured token came closest.
 */
import { createHash, timingSafeEqual } from 'node:crypto'

const sha256 = (text: string) => createHash('sha256').update(text).digest()

export class Tokens {
  private readonly hashes: Buffer[]

  constructor(tokens: readonly string[]) {
    this.hashes = tokens.map(sha256)
  }

  get enabled(): boolean {
    return this.hashes.length > 0
  }

  /** `authorization` is the raw header value. */
  allows(authorization: string): boolean {
    if (!this.enabled) return true
    const match = /^Bearer +(\S+) *$/i.exec(authorization)
    const presented = sha256(match?.[1] ?? '')
    let allowed = false
    for (const hash of this.hashes) allowed = timingSafeEqual(hash, presented) || allowed
    return allowed && match !== null
  }
}

/**
 * Browsers cannot set headers on a WebSocket, so the dashboard offers its token as the
 * subprotocol `bearer.<base64url(token)>`. Returns that protocol (the handshake must echo it)
 * and the `Authorization` value it stands for, or null when none is offered.
 */
export function bearerProtocol(header: string): { protocol: string; authorization: string } | null {
  const protocol = header
    .split(',')
    .map((p) => p.trim())
    .find((p) => p.startsWith('bearer.'))
  if (protocol === undefined) return null
  const token = Buffer.from(protocol.slice('bearer.'.length), 'base64url').toString('utf8')
  return { protocol, authorization: `Bearer ${token}` }
}
