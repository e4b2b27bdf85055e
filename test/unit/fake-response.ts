/**
 * A stand-in for uWebSockets.js's `HttpResponse` and `HttpRequest` that records what is written,
 * for in-process tests of the response helper and the body reader.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js'

export class FakeResponse {
  status: string | null = null
  readonly headers: [string, string][] = []
  body: string | null = null
  closed: boolean | null = null
  /** How many times `end` was called, and whether every write happened inside `cork`. */
  ends = 0
  allCorked = true
  private corked = false
  private abort: (() => void) | null = null
  private data: ((chunk: ArrayBuffer, isLast: boolean) => void) | null = null
  /** A streamed body's chunks; `write` refuses (buffers) while `writable` is false. */
  readonly chunks: string[] = []
  writable = true
  private writableHandler: ((offset: number) => boolean) | null = null

  get res(): HttpResponse {
    return this as unknown as HttpResponse
  }

  onAborted(handler: () => void): this {
    this.abort = handler
    return this
  }

  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): this {
    this.data = handler
    return this
  }

  cork(write: () => void): this {
    this.corked = true
    write()
    this.corked = false
    return this
  }

  writeStatus(status: string): this {
    this.allCorked &&= this.corked
    this.status = status
    return this
  }

  writeHeader(key: string, value: string): this {
    this.allCorked &&= this.corked
    this.headers.push([key, value])
    return this
  }

  end(body: string | Buffer, closeConnection = false): this {
    this.allCorked &&= this.corked
    this.ends++
    this.body = String(body)
    this.closed = closeConnection
    return this
  }

  write(chunk: string): boolean {
    this.allCorked &&= this.corked
    this.chunks.push(chunk)
    return this.writable
  }

  onWritable(handler: (offset: number) => boolean): this {
    this.writableHandler = handler
    return this
  }

  /** The socket drained: what uWebSockets.js does then. `accept`: whether it takes the next write. */
  drained(accept = true): boolean {
    this.writable = accept
    return this.writableHandler?.(0) ?? true
  }

  /** The client goes away. */
  clientAborts(): void {
    this.abort?.()
  }

  /** The client sends part of its body. */
  send(text: string, isLast: boolean): void {
    const bytes = new TextEncoder().encode(text)
    this.data?.(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), isLast)
  }

  header(key: string): string | undefined {
    return this.headers.find(([k]) => k === key)?.[1]
  }
}

/** A request with these (lower-case) headers. */
export function fakeRequest(headers: Record<string, string> = {}): HttpRequest {
  return { getHeader: (key: string) => headers[key] ?? '' } as unknown as HttpRequest
}
