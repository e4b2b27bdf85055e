/**
 * A Server-Sent Events parser (the WHATWG "event stream interpretation", the parts this feed
 * uses): text in arbitrary chunks, frames out. Lines end in LF, CRLF or CR; `id`, `event` and
 * `data` fields (several data lines join with LF); comments (heartbeats) and unknown fields are
 * skipped; a blank line ends a frame, and a frame without data is not dispatched.
 */
export interface Frame {
  /** `event:`; `message` when absent. */
  event: string
  data: string
  /** `id:` of this frame; undefined when it had none. */
  id: string | undefined
}

export class SseParser {
  private readonly decoder = new TextDecoder()
  private pending = ''
  /** A chunk ended in CR: an LF starting the next one belongs to the same line end. */
  private afterCR = false
  private event = ''
  private data: string[] = []
  private id: string | undefined = undefined

  /** The frames completed by this chunk of the stream. */
  push(chunk: Uint8Array): Frame[] {
    let text = this.decoder.decode(chunk, { stream: true })
    if (this.afterCR && text.startsWith('\n')) text = text.slice(1)
    this.afterCR = text.endsWith('\r')
    const lines = (this.pending + text).split(/\r\n|\r|\n/)
    this.pending = lines.pop()!
    const frames: Frame[] = []
    for (const line of lines) {
      const frame = this.line(line)
      if (frame !== null) frames.push(frame)
    }
    return frames
  }

  private line(line: string): Frame | null {
    if (line === '') return this.dispatch()
    if (line.startsWith(':')) return null
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.event = value
    else if (field === 'data') this.data.push(value)
    else if (field === 'id' && !value.includes('\u0000')) this.id = value
    return null
  }

  private dispatch(): Frame | null {
    const frame =
      this.data.length === 0
        ? null
        : {
            event: this.event === '' ? 'message' : this.event,
            data: this.data.join('\n'),
            id: this.id,
          }
    this.event = ''
    this.data = []
    this.id = undefined
    return frame
  }
}
