/**
 * A stand-in for the aggregator's feed, speaking the contract of `GET /events/stream` (`id:` =
 * cursor, `event: event`, heartbeats, `event: error` frames, refusals) from a fixed list of
 * events, and `/stats` to match. Each connection follows a script (deliver k events, then drop
 * the connection, send an error frame, or hold it open), so that resuming can be tested
 * exactly. Cursors are `c<n>`: after the n-th event of the whole feed.
 */
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import type { StoredEvent } from '../../client/index.js'

export type Step =
  /** Refuse the connection with this status and error code. */
  | { refuse: number; error: string; retryAfter?: string }
  | {
      /** Events to send (default: all that are left). */
      deliver?: number
      /** Then: close the socket, send an error frame, end the response, or keep it open. */
      then: 'drop' | 'subscriber_too_slow' | 'shutting_down' | 'end' | 'hold'
    }

export interface Connection {
  topic: string | null
  after: string | null
  lastEventId: string | undefined
  authorization: string | undefined
  /** Events written on it. */
  sent: number
}

export interface FakeFeed {
  url: string
  connections: Connection[]
  /**
   * What `/stats` reports as stored (default: the events given); `unlisted`: topics it counts
   * but does not list (a deployment with more than TOP_TOPICS).
   */
  stored: { total: number; topics: Record<string, number>; unlisted: number }
}

export function storedEvent(n: number, topic = `topic-${n % 3}`): StoredEvent {
  return {
    topic,
    event_id: `event-${n}`,
    timestamp: '2025-10-21T10:00:00.000Z',
    source: 'fake-feed',
    payload: { n },
    received_at: '2025-10-21T10:00:01.000Z',
  }
}

export async function startFakeFeed(
  t: Test,
  events: StoredEvent[],
  script: Step[],
): Promise<FakeFeed> {
  const topics: Record<string, number> = {}
  for (const e of events) topics[e.topic] = (topics[e.topic] ?? 0) + 1
  const feed: FakeFeed = {
    url: '',
    connections: [],
    stored: { total: events.length, topics, unlisted: 0 },
  }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify({
          unique_processed: feed.stored.total,
          in_flight: 0,
          topics: Object.keys(feed.stored.topics),
          topic_counts: feed.stored.topics,
          topic_count: Object.keys(feed.stored.topics).length + feed.stored.unlisted,
        }),
      )
      return
    }
    if (url.pathname !== '/events/stream') {
      res.writeHead(404).end()
      return
    }
    const lastEventId = req.headers['last-event-id']
    const connection: Connection = {
      topic: url.searchParams.get('topic'),
      after: url.searchParams.get('after'),
      lastEventId: typeof lastEventId === 'string' ? lastEventId : undefined,
      authorization: req.headers.authorization,
      sent: 0,
    }
    const step = script[feed.connections.length] ?? { then: 'hold' }
    feed.connections.push(connection)
    if ('refuse' in step) {
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (step.retryAfter !== undefined) headers['retry-after'] = step.retryAfter
      res.writeHead(step.refuse, headers)
      res.end(JSON.stringify({ error: step.error, message: `refused: ${step.error}` }))
      return
    }
    // the contract: Last-Event-ID wins over after
    const cursor = connection.lastEventId ?? connection.after ?? 'c0'
    let position = Number(cursor.slice(1))
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    let frames = ': heartbeat\n\n'
    let left = step.deliver ?? Infinity
    for (; position < events.length && left > 0; position++) {
      const event = events[position]!
      if (connection.topic !== null && event.topic !== connection.topic) continue
      frames += `id: c${position + 1}\nevent: event\ndata: ${JSON.stringify(event)}\n\n`
      connection.sent++
      left--
    }
    const { then } = step
    if (then === 'drop') res.write(frames, () => res.socket?.destroy())
    else if (then === 'end') res.end(frames)
    else if (then === 'hold') res.write(frames)
    else {
      const error = { error: then, message: `fake: ${then}` }
      res.end(`${frames}event: error\ndata: ${JSON.stringify(error)}\n\n`)
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  feed.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return feed
}
