/** The client's retry rules and its batching, without a server. */
import t from 'tap'
import { batches } from '../../client/batches.js'
import { describeNetworkError } from '../../client/errors.js'
import { DEFAULT_RETRY, isRetryable, parseRetryAfter, retryDelay } from '../../client/retry.js'

t.test('only timeouts, rate limits and unavailable servers are retried', async (t) => {
  for (const status of [408, 429, 502, 503, 504]) t.ok(isRetryable(status), `${status}`)
  for (const status of [400, 401, 403, 404, 413, 415, 422, 500])
    t.notOk(isRetryable(status), `${status}`)
})

t.test('Retry-After in seconds or as a date is what the client waits', async (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  t.equal(parseRetryAfter('3', now), 3000)
  t.equal(parseRetryAfter(' 0 ', now), 0)
  t.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:02 GMT', now), 2000)
  t.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0, 'a past date: at once')
  t.equal(parseRetryAfter('soon', now), undefined)
  t.equal(parseRetryAfter('-1', now), undefined)
  t.equal(parseRetryAfter(null, now), undefined)
  t.equal(
    retryDelay(DEFAULT_RETRY, 5, '2', () => 0.5),
    2000,
    'the server’s word wins over backoff',
  )
})

t.test('backoff doubles to a cap, with half of each step random', async (t) => {
  const policy = { baseMs: 100, capMs: 1000, giveUpAfterMs: 10_000 }
  t.equal(
    retryDelay(policy, 1, null, () => 0),
    50,
  )
  t.equal(
    retryDelay(policy, 1, null, () => 1),
    100,
  )
  t.equal(
    retryDelay(policy, 3, null, () => 0),
    200,
  )
  t.equal(
    retryDelay(policy, 3, null, () => 1),
    400,
  )
  t.equal(
    retryDelay(policy, 10, null, () => 1),
    1000,
    'capped',
  )
  const waits = Array.from({ length: 50 }, () => retryDelay(policy, 2, null))
  t.ok(waits.every((w) => w >= 100 && w <= 200))
  t.ok(new Set(waits).size > 1, 'jittered: clients refused together do not return together')
})

t.test('batches are cut by count and by bytes, in order, each event once', async (t) => {
  const events = Array.from({ length: 25 }, (_, i) => ({
    topic: 't',
    event_id: `e${i}`,
    timestamp: '2025-10-21T10:00:00Z',
    source: 's',
  }))
  const byCount = [...batches(events, { events: 10, bytes: 1e9 })]
  t.same(
    byCount.map((b) => b.events),
    [10, 10, 5],
  )
  t.same(
    byCount.flatMap((b) => JSON.parse(b.body) as unknown[]),
    events,
  )
  const size = Buffer.byteLength(JSON.stringify(events[0]))
  const byBytes = [...batches(events, { events: 1000, bytes: 2 + 3 * (size + 1) })]
  t.ok(byBytes.every((b) => Buffer.byteLength(b.body) <= 2 + 3 * (size + 1)))
  t.same(
    byBytes.flatMap((b) => JSON.parse(b.body) as unknown[]),
    events,
  )
  t.ok(byBytes.length >= 9)
  const big = [...batches(events.slice(0, 2), { events: 10, bytes: 5 })]
  t.same(
    big.map((b) => b.events),
    [1, 1],
    'an event larger than the limit goes alone',
  )
  t.same([...batches([], { events: 10, bytes: 100 })], [])
})

t.test('network failures are named in words', async (t) => {
  const refused = new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  })
  t.equal(describeNetworkError(refused), 'connection refused (ECONNREFUSED)')
  t.equal(describeNetworkError(new TypeError('fetch failed', { cause: new Error('odd') })), 'odd')
  t.equal(describeNetworkError('text'), 'text')
})
