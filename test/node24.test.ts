/**
 * Node 24 on this host's C library. Below glibc 2.38 (Debian 12), where no native uWebSockets.js
 * build loads, the start is refused unless UWS_FALLBACK=allow, and then the app serves on the
 * fork's pure-JS server, the WebSocket-only live view answering why it is off. From glibc 2.38
 * (Debian 13, the production image, where the container suite runs this file), the pinned
 * native build serves. Runs the built app under a real Node 24 binary: this one when the test
 * runs on Node 24, otherwise nodejs.org's (support/node24.ts).
 */
import { get as httpGet, request, type IncomingMessage } from 'node:http'
import t from 'tap'
import { plainLines, runToExit, startProcess } from './support/aggregator.js'
import { event, get, post, stats } from './support/client.js'
import { testDatabase } from './support/database.js'
import { node24 } from './support/node24.js'
import { SseReader } from './support/sse.js'

/** A WebSocket handshake's answer: status and body (a refusal is a plain HTTP answer). */
function upgrade(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    })
    req.on('upgrade', () => reject(new Error('upgraded: the fallback has no WebSocket')))
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/**
 * An event stream whose reader does not read until told: its socket and the server's buffers
 * fill. `resumeUntil` reads on until `count` events arrived (bounded in time), and says how many.
 */
async function pausedStream(base: string, path: string) {
  const res = await new Promise<IncomingMessage>((resolve, reject) =>
    httpGet(base + path, { agent: false }, resolve).on('error', reject),
  )
  res.pause()
  let text = ''
  return {
    async resumeUntil(count: number): Promise<number> {
      const seen = () => text.split('\nevent: event\n').length - 1
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.resume()
      const deadline = Date.now() + 60_000
      while (seen() < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      res.destroy()
      return seen()
    },
  }
}

/** The C library @btc-vision/uwebsockets.js's Linux binaries need (src/uws.ts). */
const NATIVE_GLIBC = [2, 38]
const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header
  .glibcVersionRuntime
const [major = 0, minor = 0] = (glibc ?? '0.0').split('.').map(Number)
const nativeLoads =
  major > NATIVE_GLIBC[0]! || (major === NATIVE_GLIBC[0] && minor >= NATIVE_GLIBC[1]!)
const nodeOf24 = () => (process.versions.node.startsWith('24.') ? process.execPath : node24())

if (nativeLoads) {
  t.test(`on Node 24 with glibc ${glibc}, the pinned native build serves`, async (t) => {
    const db = await testDatabase(t)
    const server = await startProcess(t, { DATABASE_URL: db.url }, undefined, await nodeOf24())
    const listening = server.logs.find((l) => String(l.msg).startsWith('listening'))
    t.match(listening?.msg, /\(uWebSockets\.js @btc-vision\/uwebsockets\.js@20\.57\.0/)
    const published = await post(server.url, '/publish?ack=durable', [event({ topic: 'node24' })])
    t.match(published.body, { accepted: 1, unique: 1 })
    t.equal(await server.stop('SIGTERM'), 0, 'a clean stop')
  })
} else {
  fallbackTests()
}

function fallbackTests() {
  t.test(
    'on Node 24 here, start-up is refused by default, naming UWS_FALLBACK=allow',
    async (t) => {
      const node = await nodeOf24()
      const { code, output } = await runToExit({ PORT: '0' }, [], node)
      t.equal(code, 1)
      const lines = plainLines(output)
      t.equal(lines.length, 1, output)
      t.match(
        lines[0],
        /^pubsub-aggregator: no uWebSockets\.js binary loads on Node v24\.[\d.]+ \(ABI 137\) on linux-x64, glibc 2\.\d+: @btc-vision\/uwebsockets\.js@20\.57\.0: needs GLIBC_2\.38; @trufflesuite\/uws-js-unofficial@[^:]+: no binary for Node ABI 137\. .*set UWS_FALLBACK=allow to serve on a pure-JS server: many times slower/,
      )
      t.match(output, /"code":"ERR_AGG_UWS_UNAVAILABLE"/)
    },
  )

  t.test(
    'with UWS_FALLBACK=allow, Node 24 here serves on the JS fallback: warned, counted exactly, streamed, no live view',
    async (t) => {
      const node = await nodeOf24()
      const db = await testDatabase(t)
      const server = await startProcess(
        t,
        { DATABASE_URL: db.url, UWS_FALLBACK: 'allow', SHARDS: '2' },
        undefined,
        node,
      )
      const warning = server.logs.find((l) => l.level === 40 && /SLOW/.test(String(l.msg)))
      t.match(
        warning?.msg,
        /pure-JS fallback server \(UWS_FALLBACK=allow\) because no uWebSockets\.js binary loads on Node v24/,
      )
      const listening = server.logs.find((l) => String(l.msg).startsWith('listening'))
      t.match(
        listening?.msg,
        /\(SLOW pure-JS fallback @trufflesuite\/uws-js-unofficial@[^ ]+ \(pure JS, dist\/\), 2 shards\)/,
      )

      const stream = await SseReader.open(server.url, '/events/stream?topic=node24.stream')
      t.teardown(() => stream.close())
      t.equal(stream.status, 200)

      // a query string routes (`?ack=`), a body is read, a duplicate is dropped
      const events = Array.from({ length: 50 }, (_, i) =>
        event({ topic: i % 2 === 0 ? 'node24.stream' : 'node24.other' }),
      )
      const first = await post(server.url, '/publish?ack=durable', events)
      t.equal(first.status, 200)
      t.match(first.body, { accepted: 50, unique: 50, duplicates: 0 })
      const again = await post(server.url, '/publish?ack=durable', events.slice(0, 10))
      t.match(again.body, { accepted: 10, unique: 0, duplicates: 10 })
      t.match(await stats(server.url), {
        received: 60,
        unique_processed: 50,
        duplicate_dropped: 10,
        topic_counts: { 'node24.stream': 25, 'node24.other': 25 },
      })
      const page = await get<unknown[]>(server.url, '/events?topic=node24.other&limit=10')
      // a long transaction of a test running alongside may hold back part of the feed (src/db/feed.ts)
      t.ok(page.body.length >= 1 && page.body.length <= 10, 'a read with a query string: the limit')
      t.ok(
        page.body.every((e) => (e as { topic: string }).topic === 'node24.other'),
        'and the topic',
      )

      await stream.until(() => stream.events.length >= 25, 30_000, 'the streamed events')
      t.equal(stream.events.length, 25, 'the stream carries its topic only')

      // a reader that stops reading: the server's writes are refused, then resume when it reads
      // again (onWritable), and every event arrives; the bytes stay under SUBSCRIBER_BUFFER_BYTES
      const slow = await pausedStream(server.url, '/events/stream?topic=node24.slow')
      const big = 'x'.repeat(20_000)
      for (let batch = 0; batch < 3; batch++) {
        const sent = Array.from({ length: 100 }, () =>
          event({ topic: 'node24.slow', payload: { big } }),
        )
        t.equal((await post(server.url, '/publish', sent)).status, 200)
      }
      t.equal(await slow.resumeUntil(300), 300, 'every event, after the backlog drained')

      // the live view needs a WebSocket: a stable answer, upgrade asked or not, and the process lives on
      for (const reply of [await get(server.url, '/live'), await upgrade(server.url, '/live')]) {
        t.equal(reply.status, 501)
        const body =
          typeof reply.body === 'string' ? (JSON.parse(reply.body) as unknown) : reply.body
        t.match(body, { error: 'live_unavailable', message: /UWS_FALLBACK=allow.*GET \/stats/ })
      }
      const dashboard = await fetch(`${server.url}/`)
      t.equal(dashboard.status, 200)
      await dashboard.text()
      t.equal((await get(server.url, '/healthz')).status, 200, 'still serving')
      t.equal(await server.stop('SIGTERM'), 0, 'a clean stop')
    },
  )
}
