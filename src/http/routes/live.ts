/**
 * `GET /live`: the dashboard's WebSocket. Every viewer subscribes to one topic; `LiveStats`
 * publishes a snapshot to it once a second while anyone watches.
 */
import type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  WebSocket,
  WebSocketBehavior,
  us_socket_context_t,
} from 'uWebSockets.js'
import { LIVE_TOPIC, LiveStats } from '../../dashboard/live.js'
import type { Logger } from '../../log.js'
import { bearerProtocol } from '../auth.js'
import type { Services, SocketEndpoint } from '../route.js'

/** The open `/live` sockets and their feed; closed on shutdown, or they would keep the event loop alive. */
export class Viewers {
  private readonly sockets = new Set<WebSocket<unknown>>()
  private readonly live: LiveStats

  /** The socket's behaviour once upgraded; the dispatcher adds the upgrade. */
  readonly behavior: Omit<WebSocketBehavior<unknown>, 'upgrade'> = {
    // viewers only listen; one that falls this far behind is skipped until it catches up (the
    // history sent on joining is ~150 KB)
    maxPayloadLength: 1024,
    maxBackpressure: 1024 * 1024,
    idleTimeout: 32,
    open: (ws) => {
      this.sockets.add(ws)
      ws.subscribe(LIVE_TOPIC)
      this.live.welcome((message) => ws.send(message))
    },
    close: (ws) => this.sockets.delete(ws),
  }

  constructor(
    app: TemplatedApp,
    services: Pick<Services, 'stats' | 'workers' | 'topicTotals' | 'vitals' | 'activity'>,
    log: Logger,
  ) {
    this.live = new LiveStats({
      snapshot: () => services.stats(),
      totals: (topics) => services.topicTotals(topics),
      vitals: () => services.vitals(),
      activity: services.activity,
      workers: () => services.workers(),
      publish: (message) => app.publish(LIVE_TOPIC, message),
      viewers: () => app.numSubscribers(LIVE_TOPIC),
      failed: (error) => log.warn({ err: error }, 'dashboard snapshot failed'),
    })
    this.live.start()
  }

  close(): void {
    this.live.stop()
    for (const socket of this.sockets) socket.end(1001, 'shutting down')
  }
}

export const live: SocketEndpoint = {
  /** The handshake echoes the `bearer.…` subprotocol a browser offered its token in. */
  upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    const offered = bearerProtocol(req.getHeader('sec-websocket-protocol'))
    res.upgrade(
      {},
      req.getHeader('sec-websocket-key'),
      offered?.protocol ?? '',
      req.getHeader('sec-websocket-extensions'),
      context,
    )
  },
  // answered by the dispatcher to a GET without `Upgrade: websocket`, and on the JS fallback
  errors: ['upgrade_required', 'live_unavailable'],
  openapi: {
    summary:
      'WebSocket (Upgrade: websocket): the last 15 minutes on joining, then one snapshot per second, pushed',
    responses: { '101': { description: 'Switching protocols; JSON text messages follow' } },
  },
}
