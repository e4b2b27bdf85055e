/**
 * Browsers cannot be turned against the server: a page on another site can neither publish
 * (a cross-site POST without `Content-Type` needs no preflight) nor open the `/live` feed (a
 * WebSocket is not bound by the same-origin policy). Clients that send no `Origin` (curl, SDKs,
 * other servers) are unaffected, with or without `Content-Type`.
 */
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { startApp } from './support/app.js'
import { event, get, post, type TestEvent } from './support/client.js'
import { testDatabase } from './support/database.js'

const EVIL = 'https://evil.example'

const db = await testDatabase(t)

/** A POST as an HTML form or a `no-cors` fetch sends it: no `Content-Type`, maybe an `Origin`. */
const simplePost = (url: string, sent: TestEvent, origin?: string) =>
  post(url, '/publish', sent, origin === undefined ? {} : { origin })

/** The handshake's answer: 101 when the socket opened, else the HTTP status. */
function handshake(url: string, origin: string): Promise<number> {
  const socket = new WebSocket(`${url.replace('http:', 'ws:')}/live`, { origin })
  return new Promise((resolve, reject) => {
    socket.on('open', () => {
      resolve(101)
      socket.close()
    })
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      res.resume()
    })
    socket.on('error', reject)
  })
}

/** The event ids stored under `topic`. */
async function stored(url: string, topic: string): Promise<string[]> {
  const page = await get<{ event_id: string }[]>(url, `/events?topic=${topic}`)
  return page.body.map((e) => e.event_id)
}

async function app(t: Test, env: Record<string, string> = {}) {
  const { url } = await startApp(t, { DATABASE_URL: db.url, ACK_MODE: 'durable', ...env })
  return url
}

t.test('a cross-site POST without Content-Type is refused with 403 and not stored', async (t) => {
  const url = await app(t)
  const forged = event({ topic: 'origin.forged' })
  const refused = await simplePost(url, forged, EVIL)
  t.equal(refused.status, 403)
  t.equal(refused.body.error, 'forbidden_origin')
  t.match(refused.body.message, EVIL)
  t.equal((await post(url, '/publish/batch', [forged], { origin: EVIL })).status, 403)
  const honest = event({ topic: 'origin.forged' })
  t.equal((await simplePost(url, honest)).status, 200, 'a later request without Origin')
  t.same(await stored(url, 'origin.forged'), [honest.event_id], 'only the honest event is stored')
})

t.test('a POST from the server’s own origin, or with no Origin at all, is accepted', async (t) => {
  const url = await app(t)
  const own = event({ topic: 'origin.own' })
  t.equal((await simplePost(url, own, url)).status, 200, `Origin: ${url}`)
  const bare = event({ topic: 'origin.own' })
  t.equal((await simplePost(url, bare)).status, 200, 'no Origin, no Content-Type')
  t.same((await stored(url, 'origin.own')).sort(), [own.event_id, bare.event_id].sort())
})

t.test('/live opens only for the server’s own origin', async (t) => {
  const url = await app(t)
  t.equal(await handshake(url, EVIL), 403, 'a foreign page')
  t.equal(await handshake(url, url), 101, 'the dashboard itself')
  t.equal(await handshake(url, 'null'), 403, 'an opaque origin (sandboxed frame, file://)')
})

t.test('ALLOWED_ORIGINS widens publishing and /live to the origins it names', async (t) => {
  const url = await app(t, { ALLOWED_ORIGINS: `https://other.example, ${EVIL}` })
  t.equal((await simplePost(url, event(), EVIL)).status, 200)
  t.equal(await handshake(url, EVIL), 101)
  t.equal(await handshake(url, url), 101, 'the own origin stays allowed')
  t.equal(await handshake(url, 'https://third.example'), 403, 'an origin not named')
  t.equal(await handshake(url, 'http://evil.example'), 403, 'the scheme is part of an origin')
})

t.test('ALLOWED_ORIGINS=* lets any page publish and watch', async (t) => {
  const url = await app(t, { ALLOWED_ORIGINS: '*' })
  t.equal((await simplePost(url, event(), EVIL)).status, 200)
  t.equal(await handshake(url, EVIL), 101)
  t.equal(await handshake(url, 'null'), 101)
})
