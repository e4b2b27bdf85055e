/** Which pages may call a route (`Origins`), and the origins ALLOWED_ORIGINS accepts. */
import t from 'tap'
import { Origins, serializedOrigin } from '../../src/http/origin.js'

t.test('an origin is written as browsers send it, and anything else is no origin', async (t) => {
  t.equal(serializedOrigin('https://App.Example.com'), 'https://app.example.com')
  t.equal(serializedOrigin('https://app.example.com:443'), 'https://app.example.com')
  t.equal(serializedOrigin('http://app.example.com:8080'), 'http://app.example.com:8080')
  t.equal(serializedOrigin('http://[::1]:8080'), 'http://[::1]:8080')
  t.equal(serializedOrigin('chrome-extension://abcdef'), 'chrome-extension://abcdef')
  for (const text of [
    'app.example.com',
    'https://app.example.com/',
    'https://app.example.com/path',
    'https://app.example.com?x=1',
    'https://user@app.example.com',
    'https://',
    'https://:80',
    'https://app example.com',
    'null',
    '*',
  ]) {
    t.equal(serializedOrigin(text), null, text)
  }
})

t.test('by default only pages whose host and port are the request’s own pass', async (t) => {
  const origins = new Origins([])
  t.ok(origins.allows('http://127.0.0.1:8080', '127.0.0.1:8080'))
  t.ok(origins.allows('https://agg.example.com', 'agg.example.com'), 'behind a TLS proxy')
  t.ok(origins.allows('http://AGG.example.com', 'agg.EXAMPLE.com'), 'hosts ignore case')
  t.notOk(origins.allows('http://127.0.0.1:8081', '127.0.0.1:8080'), 'another port')
  t.notOk(origins.allows('https://evil.example', 'agg.example.com'))
  t.notOk(origins.allows('https://agg.example.com.evil.example', 'agg.example.com'))
  t.notOk(origins.allows('null', 'agg.example.com'), 'an opaque origin')
  t.notOk(origins.allows('ws://agg.example.com', 'agg.example.com'), 'only web pages’ schemes')
  t.notOk(origins.allows('http://agg.example.com', ''), 'no Host, no match')
})

t.test('listed origins pass whatever the host, scheme included', async (t) => {
  const origins = new Origins(['https://app.example.com', 'chrome-extension://abcdef'])
  t.ok(origins.allows('https://app.example.com', 'agg.internal:8080'))
  t.ok(origins.allows('https://APP.example.com', 'agg.internal:8080'))
  t.ok(origins.allows('chrome-extension://abcdef', 'agg.internal:8080'))
  t.notOk(origins.allows('http://app.example.com', 'agg.internal:8080'), 'another scheme')
  t.ok(origins.allows('http://agg.internal:8080', 'agg.internal:8080'), 'the own still passes')
})

t.test('`*` lets every page through, opaque origins included', async (t) => {
  const origins = new Origins(['*'])
  t.ok(origins.allows('https://evil.example', 'agg.example.com'))
  t.ok(origins.allows('null', 'agg.example.com'))
})
