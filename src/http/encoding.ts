/**
 * What a publish body is: its media type (JSON or NDJSON) and its content coding (none or gzip).
 * A gzip body is inflated by zlib in chunks and abandoned the moment its output would pass the
 * size limit, so a small bomb never becomes a large buffer.
 */
import { gunzip } from 'node:zlib'
import type { BodyFormat } from '../ingest/request.js'

export type Refusal = { status: 400 | 413 | 415; error: string; message: string }

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i
const NDJSON_TYPE = /^application\/(?:x-ndjson|jsonl|x-jsonlines)\s*(?:;|$)/i

/** A missing content type is read as JSON, as the older clients send it. */
export function bodyFormat(contentType: string): BodyFormat | Refusal {
  if (contentType === '' || JSON_TYPE.test(contentType)) return 'json'
  if (NDJSON_TYPE.test(contentType)) return 'ndjson'
  return {
    status: 415,
    error: 'unsupported_media_type',
    message: `Content-Type must be application/json or application/x-ndjson, not ${contentType}`,
  }
}

export function decodeBody(
  body: Uint8Array,
  contentEncoding: string,
  limitBytes: number,
  done: (decoded: Uint8Array | Refusal) => void,
): void {
  const coding = contentEncoding.trim().toLowerCase()
  if (coding === '' || coding === 'identity') return done(body)
  if (coding !== 'gzip' && coding !== 'x-gzip') {
    return done({
      status: 415,
      error: 'unsupported_encoding',
      message: `Content-Encoding must be gzip or absent, not ${contentEncoding}`,
    })
  }
  gunzip(body, { maxOutputLength: limitBytes }, (error, inflated) => {
    if (error === null) return done(inflated)
    done(
      (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
        ? {
            status: 413,
            error: 'body_too_large',
            message: `decompressed body exceeds ${limitBytes} bytes`,
          }
        : { status: 400, error: 'malformed_gzip', message: `gzip body: ${error.message}` },
    )
  })
}
