/**
 * What a publish body is: its media type (JSON or NDJSON) and its content coding (none or gzip).
 * A gzip body is inflated by zlib in chunks and abandoned the moment its output would pass the
 * size limit, so a small bomb never becomes a large buffer.
 */
import { gunzip } from 'node:zlib'
import type { ErrorCode } from '../errors.js'
import { FORMATS, type BodyFormat } from '../ingest/formats.js'

export interface Refusal {
  error: Extract<
    ErrorCode,
    'unsupported_media_type' | 'unsupported_encoding' | 'body_too_large' | 'malformed_gzip'
  >
  message: string
}

const NAMES = Object.keys(FORMATS) as BodyFormat[]
const ACCEPTED = NAMES.map((name) => FORMATS[name].mediaType).join(' or ')

/** A missing content type is read as the first format (JSON), as the older clients send it. */
export function bodyFormat(contentType: string): BodyFormat | Refusal {
  if (contentType === '') return NAMES[0]!
  const format = NAMES.find((name) => FORMATS[name].matches.test(contentType))
  if (format !== undefined) return format
  return {
    error: 'unsupported_media_type',
    message: `Content-Type must be ${ACCEPTED}, not ${contentType}`,
  }
}

const GZIP = new Set(['gzip', 'x-gzip'])
const IDENTITY = new Set(['', 'identity'])

const coding = (contentEncoding: string) => contentEncoding.trim().toLowerCase()

/** Whether the body is gzip: decoding it makes a second, larger copy. */
export const isCompressed = (contentEncoding: string): boolean => GZIP.has(coding(contentEncoding))

export function decodeBody(
  body: Uint8Array,
  contentEncoding: string,
  limitBytes: number,
  done: (decoded: Uint8Array | Refusal) => void,
): void {
  if (IDENTITY.has(coding(contentEncoding))) return done(body)
  if (!isCompressed(contentEncoding)) {
    return done({
      error: 'unsupported_encoding',
      message: `Content-Encoding must be gzip or absent, not ${contentEncoding}`,
    })
  }
  gunzip(body, { maxOutputLength: limitBytes }, (error, inflated) => {
    if (error === null) return done(inflated)
    done(
      (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
        ? { error: 'body_too_large', message: `decompressed body exceeds ${limitBytes} bytes` }
        : { error: 'malformed_gzip', message: `gzip body: ${error.message}` },
    )
  })
}
