/** The client's SSE parser: frames come out whole, however the stream is cut into chunks. */
import t from 'tap'
import { SseParser, type Frame } from '../../client/sse.js'

const bytes = (text: string) => new TextEncoder().encode(text)

function parse(chunks: (string | Uint8Array)[]): Frame[] {
  const parser = new SseParser()
  return chunks.flatMap((c) => parser.push(typeof c === 'string' ? bytes(c) : c))
}

const STREAM =
  ': heartbeat\n\n' +
  'id: c1\nevent: event\ndata: {"topic":"a","n":"é"}\n\n' +
  ': heartbeat\n\n' +
  'id: c2\nevent: event\ndata: {"topic":"b"}\n\n' +
  'event: error\ndata: {"error":"subscriber_too_slow","message":"resume"}\n\n'

const EXPECTED: Frame[] = [
  { event: 'event', id: 'c1', data: '{"topic":"a","n":"é"}' },
  { event: 'event', id: 'c2', data: '{"topic":"b"}' },
  { event: 'error', id: undefined, data: '{"error":"subscriber_too_slow","message":"resume"}' },
]

t.test('the feed in one chunk: events and the error frame; heartbeats are skipped', async (t) => {
  t.same(parse([STREAM]), EXPECTED)
})

t.test('the same stream cut at every byte, a UTF-8 character included', async (t) => {
  const all = bytes(STREAM)
  t.same(parse(Array.from(all, (b) => Uint8Array.of(b))), EXPECTED)
  for (let cut = 1; cut < all.length; cut++)
    t.same(parse([all.slice(0, cut), all.slice(cut)]), EXPECTED, `cut at byte ${cut}`)
})

t.test('CRLF and CR line ends, a CRLF split across chunks', async (t) => {
  const crlf = STREAM.replaceAll('\n', '\r\n')
  t.same(parse([crlf]), EXPECTED)
  t.same(parse([STREAM.replaceAll('\n', '\r')]), EXPECTED)
  const at = crlf.indexOf('\r\n') + 1
  t.same(parse([crlf.slice(0, at), crlf.slice(at)]), EXPECTED, 'CR | LF is one line end')
})

t.test(
  'data lines join; a frame without data is not dispatched; fields as the spec says',
  async (t) => {
    t.same(parse(['data: one\ndata:two\nid\n\n']), [{ event: 'message', data: 'one\ntwo', id: '' }])
    t.same(parse(['id: c9\nevent: event\n\n']), [], 'no data: nothing')
    t.same(parse(['id: a\u0000b\nretry: 5\nfoo: bar\ndata: x\n\n']), [
      { event: 'message', data: 'x', id: undefined },
    ])
    t.same(parse(['data: unfinished\n']), [], 'a frame ends with a blank line only')
  },
)
