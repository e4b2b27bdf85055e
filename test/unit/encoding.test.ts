/**
 * What a publish body is (media type, content coding), decoded in-process: no server, no DB.
 * A refusal carries its error code; the status comes from the error catalogue.
 */
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { ERRORS } from '../../src/errors.js'
import { bodyFormat, decodeBody, type Refusal } from '../../src/http/encoding.js'
import { openApiDocument } from '../../src/http/openapi.js'
import { ROUTES } from '../../src/http/routes.js'
import { FORMATS } from '../../src/ingest/formats.js'

const decode = (body: Uint8Array, coding: string, limitBytes = 1024 * 1024) =>
  new Promise<Uint8Array | Refusal>((resolve) => decodeBody(body, coding, limitBytes, resolve))

const bytes = (text: string) => new TextEncoder().encode(text)

t.test('JSON is the default; +json and the NDJSON spellings are recognised', async (t) => {
  for (const type of ['', 'application/json', 'application/json; charset=utf-8'])
    t.equal(bodyFormat(type), 'json', JSON.stringify(type))
  t.equal(bodyFormat('application/vnd.events+json'), 'json')
  t.equal(bodyFormat('APPLICATION/JSON'), 'json', 'media types are case-insensitive')
  for (const type of ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'])
    t.equal(bodyFormat(type), 'ndjson', type)
})

t.test('every format in the table is selected by its own media type and documented', async (t) => {
  const document = openApiDocument(ROUTES, 'test') as {
    paths: Record<string, { post?: { requestBody: { content: Record<string, unknown> } } }>
  }
  const documented = Object.keys(document.paths['/publish']!.post!.requestBody.content)
  for (const [name, format] of Object.entries(FORMATS)) {
    t.equal(bodyFormat(format.mediaType), name, format.mediaType)
    t.ok(documented.includes(format.mediaType), `the API document lists ${format.mediaType}`)
  }
  t.equal(documented.length, Object.keys(FORMATS).length, 'and nothing else')
})

t.test('any other media type is refused with 415, naming what was sent', async (t) => {
  t.equal(ERRORS.unsupported_media_type.status, 415)
  for (const type of ['text/plain', 'application/jsonp', 'application/json-seq', 'multipart/x']) {
    const refused = bodyFormat(type)
    t.match(refused, { error: 'unsupported_media_type' }, type)
    if (typeof refused !== 'string') t.match(refused.message, type)
  }
})

t.test('a body without a coding, or with identity, is passed through as is', async (t) => {
  const body = bytes('[{"topic":"a"}]')
  t.equal(await decode(body, ''), body)
  t.equal(await decode(body, ' Identity '), body)
})

t.test('gzip and x-gzip bodies are inflated', async (t) => {
  const text = JSON.stringify([{ topic: 'a', event_id: 'b' }])
  for (const coding of ['gzip', 'x-gzip', 'GZIP']) {
    const decoded = await decode(gzipSync(text), coding)
    t.ok(decoded instanceof Uint8Array, coding)
    t.equal(Buffer.from(decoded as Uint8Array).toString(), text)
  }
})

t.test(
  'a gzip bomb is refused with 413 by its inflated size, not its compressed one',
  async (t) => {
    t.equal(ERRORS.body_too_large.status, 413)
    const limitBytes = 64 * 1024
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024, ' '))
    t.ok(bomb.length < limitBytes, `${bomb.length} bytes compressed, under the limit`)
    t.match(await decode(bomb, 'gzip', limitBytes), {
      error: 'body_too_large',
      message: `decompressed body exceeds ${limitBytes} bytes`,
    })
    const justFits = gzipSync(Buffer.alloc(limitBytes, ' '))
    t.ok(
      (await decode(justFits, 'gzip', limitBytes)) instanceof Uint8Array,
      'the limit itself fits',
    )
  },
)

t.test('a corrupt or truncated gzip body is 400 malformed_gzip', async (t) => {
  t.equal(ERRORS.malformed_gzip.status, 400)
  const whole = gzipSync('[{"topic":"a"}]')
  for (const [name, body] of [
    ['a header and garbage', new Uint8Array([0x1f, 0x8b, 1, 2, 3])],
    ['not gzip at all', bytes('{"topic":"a"}')],
    ['cut short', whole.subarray(0, whole.length - 6)],
  ] as const) {
    t.match(await decode(body, 'gzip'), { error: 'malformed_gzip' }, name)
  }
})

t.test('any other content coding is 415', async (t) => {
  t.equal(ERRORS.unsupported_encoding.status, 415)
  for (const coding of ['br', 'deflate', 'gzip, br']) {
    t.match(await decode(bytes('{}'), coding), { error: 'unsupported_encoding' }, coding)
  }
})
