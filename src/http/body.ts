/**
 * Reads a request body under a size cap and within the byte budget for bodies in memory at once
 * (`BodyBudget`). A declared `Content-Length` over the cap is refused before any byte is read,
 * and so is one the budget cannot hold now (`queue_full`, retry later); a chunked or lying body
 * reserves as it arrives and is refused as soon as it crosses the cap or the budget, so an
 * oversized body is never buffered whole. The reservation is given back, and the chunks let go,
 * once the request is answered or its client leaves. uWebSockets.js reuses each chunk's memory
 * after the callback, so chunks are copied.
 */
import type { HttpRequest } from 'uWebSockets.js'
import type { BodyBudget } from './budget.js'
import type { Exchange } from './respond.js'

export interface BodyLimits {
  bodyLimitBytes: number
  /** A body must arrive within this time: a client trickling bytes cannot hold a request open. */
  bodyTimeoutMs: number
  /** Bytes of bodies being read, decoded and parsed at once, across requests. */
  bodyBudget: BodyBudget
}

/**
 * `extraBytes` is reserved up front beside the body: what decoding it may add (a gzip body's
 * inflated copy).
 */
export function readBody(
  ex: Exchange,
  req: HttpRequest,
  limits: BodyLimits,
  onBody: (body: Uint8Array) => void,
  extraBytes = 0,
): void {
  const { bodyLimitBytes, bodyTimeoutMs, bodyBudget } = limits
  const header = req.getHeader('content-length')
  const declared = /^\d+$/.test(header) ? Number(header) : 0
  if (declared > bodyLimitBytes) {
    tooLarge(ex, bodyLimitBytes)
    return
  }
  let reserved = 0
  const reserve = (bytes: number): boolean => {
    if (!bodyBudget.reserve(bytes)) {
      ex.fail('queue_full', 'too many request bodies are being read; retry after the delay')
      return false
    }
    reserved += bytes
    return true
  }
  if (!reserve(declared + extraBytes)) return
  const chunks: Buffer[] = []
  const timer = setTimeout(() => {
    ex.fail('body_timeout', `request body not received within ${bodyTimeoutMs} ms`)
  }, bodyTimeoutMs)
  ex.whenSettled(() => {
    clearTimeout(timer)
    chunks.length = 0
    bodyBudget.release(reserved)
    reserved = 0
  })
  let size = 0
  ex.res.onData((chunk, isLast) => {
    if (ex.settled) return
    size += chunk.byteLength
    if (size > bodyLimitBytes) return tooLarge(ex, bodyLimitBytes)
    // a body without `Content-Length`, or longer than it said, reserves what it sends
    if (size + extraBytes > reserved && !reserve(size + extraBytes - reserved)) return
    chunks.push(Buffer.from(chunk.slice(0)))
    if (!isLast) return
    clearTimeout(timer)
    ex.bodyReceived()
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
    chunks.length = 0
    onBody(body)
  })
}

/** Refused with the body unread: the catalogue has the connection closed. */
function tooLarge(ex: Exchange, limitBytes: number): void {
  ex.fail('body_too_large', `request body exceeds ${limitBytes} bytes`)
}
