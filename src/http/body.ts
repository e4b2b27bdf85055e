/**
 * Reads a request body under a size cap. A declared `Content-Length` over the cap is refused
 * before any byte is read; a chunked or lying body is refused as soon as it crosses the cap, so
 * an oversized body is never buffered whole. uWebSockets.js reuses each chunk's memory after the
 * callback, so chunks are copied.
 */
import type { HttpRequest } from 'uWebSockets.js'
import type { Exchange } from './respond.js'

export interface BodyLimits {
  bodyLimitBytes: number
  /** A body must arrive within this time: a client trickling bytes cannot hold a request open. */
  bodyTimeoutMs: number
}

export function readBody(
  ex: Exchange,
  req: HttpRequest,
  limits: BodyLimits,
  onBody: (body: Uint8Array) => void,
): void {
  const { bodyLimitBytes, bodyTimeoutMs } = limits
  const declared = req.getHeader('content-length')
  if (declared !== '' && Number(declared) > bodyLimitBytes) {
    tooLarge(ex, bodyLimitBytes)
    return
  }
  const timer = setTimeout(() => {
    ex.fail('body_timeout', `request body not received within ${bodyTimeoutMs} ms`)
  }, bodyTimeoutMs)
  const chunks: Buffer[] = []
  let size = 0
  ex.res.onData((chunk, isLast) => {
    if (ex.settled) return clearTimeout(timer)
    size += chunk.byteLength
    if (size > bodyLimitBytes) {
      clearTimeout(timer)
      tooLarge(ex, bodyLimitBytes)
      return
    }
    chunks.push(Buffer.from(chunk.slice(0)))
    if (!isLast) return
    clearTimeout(timer)
    ex.bodyReceived()
    onBody(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
  })
}

/** Refused with the body unread: the catalogue has the connection closed. */
function tooLarge(ex: Exchange, limitBytes: number): void {
  ex.fail('body_too_large', `request body exceeds ${limitBytes} bytes`)
}
