/**
 * The client's subscribe() against a stand-in feed that speaks the SSE contract and misbehaves
 * on cue: every stored event reaches the callback once and in order, across dropped connections,
 * `subscriber_too_slow` and `shutting_down` frames, refusals and silent connections, each resume
 * asking for the last cursor handled with `Last-Event-ID`.
 */
import t from 'tap'
import {
  AggregatorClient,
  ClientError,
  type Interruption,
  type StoredEvent,
} from '../client/index.js'
import { nothingListening } from './support/client.js'
import { startFakeFeed, storedEvent, type FakeFeed } from './support/fake-feed.js'

const EVENTS = Array.from({ length: 12 }, (_, n) => storedEvent(n))
const fast = { baseMs: 5, capMs: 20, giveUpAfterMs: 5_000 }

/** Subscribes and waits until `count` events arrived; returns them, the handle, and the news. */
async function follow(
  feed: FakeFeed,
  count: number,
  query: { topic?: string; after?: string } = {},
  options: { token?: string; idleTimeoutMs?: number } = {},
) {
  const client = new AggregatorClient({ url: feed.url, token: options.token, retry: fast })
  const seen: { event: StoredEvent; cursor: string }[] = []
  const interruptions: Interruption[] = []
  let reached!: () => void
  const enough = new Promise<void>((resolve) => (reached = resolve))
  const subscription = client.subscribe(
    query,
    (event, cursor) => {
      seen.push({ event, cursor })
      if (seen.length === count) reached()
    },
    { onInterruption: (i) => interruptions.push(i), idleTimeoutMs: options.idleTimeoutMs },
  )
  await Promise.race([enough, subscription.done])
  return { seen, interruptions, subscription }
}

const ids = (seen: { event: StoredEvent }[]) => seen.map((s) => s.event.event_id)

t.test(
  'a connection dropped mid-stream resumes from the last cursor: none lost, none repeated',
  async (t) => {
    const feed = await startFakeFeed(t, EVENTS, [{ deliver: 5, then: 'drop' }, { then: 'hold' }])
    const { seen, interruptions, subscription } = await follow(feed, 12)
    t.same(ids(seen), ids(EVENTS.map((event) => ({ event }))), 'all 12, in the feed’s order, once')
    t.same(
      seen.map((s) => s.cursor),
      EVENTS.map((_, n) => `c${n + 1}`),
      'each with its cursor',
    )
    t.equal(
      feed.connections[0]?.lastEventId,
      undefined,
      'the first connection starts from the start',
    )
    t.equal(feed.connections[1]?.lastEventId, 'c5', 'the resume asks for what follows the 5th')
    t.equal(interruptions.length, 1)
    t.equal(interruptions[0]?.code, null)
    t.equal(subscription.cursor, 'c12')
    t.equal(subscription.connections, 2)
    await subscription.stop()
    await t.resolves(subscription.done, 'stop() ends it without an error')
  },
)

t.test('subscriber_too_slow: the client resumes at once from its last cursor', async (t) => {
  const feed = await startFakeFeed(t, EVENTS, [
    { deliver: 3, then: 'subscriber_too_slow' },
    { deliver: 4, then: 'shutting_down' },
    { deliver: 2, then: 'end' },
    { then: 'hold' },
  ])
  const { seen, interruptions, subscription } = await follow(feed, 12)
  t.same(ids(seen), ids(EVENTS.map((event) => ({ event }))))
  t.same(
    feed.connections.map((c) => c.lastEventId),
    [undefined, 'c3', 'c7', 'c9'],
    'each resume from the last event handled',
  )
  t.match(interruptions, [
    { code: 'subscriber_too_slow', message: 'fake: subscriber_too_slow', retryInMs: 0 },
    { code: 'shutting_down' },
    { code: null, message: 'the server ended the stream' },
  ])
  t.ok(interruptions[1]!.retryInMs > 0, 'a server shutting down is given a moment')
  await subscription.stop()
})

t.test(
  'topic and after go in the query; the resume keeps them and adds Last-Event-ID',
  async (t) => {
    const feed = await startFakeFeed(t, EVENTS, [{ deliver: 1, then: 'drop' }, { then: 'hold' }])
    // topic-1 holds events 1, 4, 7, 10; after c2 leaves 4, 7, 10
    const { seen, subscription } = await follow(
      feed,
      3,
      { topic: 'topic-1', after: 'c2' },
      { token: 'secret' },
    )
    t.same(ids(seen), ['event-4', 'event-7', 'event-10'])
    t.match(feed.connections, [
      { topic: 'topic-1', after: 'c2', lastEventId: 'c2', authorization: 'Bearer secret' },
      { topic: 'topic-1', after: 'c2', lastEventId: 'c5', authorization: 'Bearer secret' },
    ])
    t.equal(subscription.cursor, 'c11')
    await subscription.stop()
  },
)

t.test('too_many_subscribers (503 + Retry-After) is waited out; then it streams', async (t) => {
  const feed = await startFakeFeed(t, EVENTS, [
    { refuse: 503, error: 'too_many_subscribers', retryAfter: '0' },
    { refuse: 502, error: 'bad_gateway' },
    { then: 'hold' },
  ])
  const { seen, interruptions, subscription } = await follow(feed, 12)
  t.equal(seen.length, 12)
  t.match(interruptions, [
    { code: 'too_many_subscribers', message: /^503 too_many_subscribers/, retryInMs: 0 },
    { code: 'bad_gateway' },
  ])
  t.equal(subscription.connections, 1, 'refusals are not connections')
  await subscription.stop()
})

t.test('a final refusal ends the subscription with its code', async (t) => {
  for (const [status, error] of [
    [400, 'invalid_cursor'],
    [401, 'unauthorized'],
    [404, 'not_found'],
  ] as const) {
    const feed = await startFakeFeed(t, EVENTS, [{ refuse: status, error }])
    const client = new AggregatorClient({ url: feed.url, retry: fast })
    const subscription = client.subscribe({ after: 'bad' }, () => {})
    const failure = await subscription.done.then(
      () => null,
      (e: unknown) => e,
    )
    t.ok(failure instanceof ClientError, `${status}: a ClientError`)
    t.match(failure, { kind: 'refused', status, code: error })
    t.equal(feed.connections.length, 1, `${status}: not retried`)
    await subscription.stop()
  }
})

t.test('a silent connection (no heartbeat) is given up and resumed', async (t) => {
  const feed = await startFakeFeed(t, EVENTS, [{ deliver: 2, then: 'hold' }, { then: 'hold' }])
  const { seen, interruptions, subscription } = await follow(feed, 12, {}, { idleTimeoutMs: 300 })
  t.same(ids(seen), ids(EVENTS.map((event) => ({ event }))))
  t.match(interruptions[0], { code: null, message: 'nothing arrived for 300 ms' })
  // each connection resumes after what the ones before it delivered (a slow start may time out
  // the first before it delivers anything)
  let delivered = 0
  for (const connection of feed.connections) {
    t.equal(connection.lastEventId, delivered === 0 ? undefined : `c${delivered}`)
    delivered += connection.sent
  }
  await subscription.stop()
})

t.test('nothing answering is retried until something does; stop() ends the waiting', async (t) => {
  const client = new AggregatorClient({ url: await nothingListening(), retry: fast })
  const interruptions: Interruption[] = []
  const subscription = client.subscribe({}, () => {}, {
    onInterruption: (i) => interruptions.push(i),
  })
  while (interruptions.length < 3) await new Promise((r) => setTimeout(r, 10))
  t.match(interruptions[0], { code: null, message: /the connection failed/ })
  t.equal(subscription.connections, 0)
  await subscription.stop()
  await t.resolves(subscription.done)
})

t.test(
  'the cursor moves only once the callback has settled; its error ends the subscription',
  async (t) => {
    const feed = await startFakeFeed(t, EVENTS, [{ then: 'hold' }])
    const client = new AggregatorClient({ url: feed.url, retry: fast })
    const cursors: (string | undefined)[] = []
    let calls = 0
    const subscription = client.subscribe({ after: 'c0' }, async () => {
      cursors.push(subscription.cursor)
      await new Promise((r) => setTimeout(r, 5))
      if (++calls === 3) throw new Error('the handler failed')
    })
    await t.rejects(subscription.done, { message: 'the handler failed' })
    t.same(
      cursors,
      ['c0', 'c1', 'c2'],
      'while an event is handled, the cursor is the one before it',
    )
    t.equal(subscription.cursor, 'c2', 'the failed event is not counted as handled')
  },
)
