/**
 * What a route is. The table of routes (routes.ts) gives each one its policy columns (method,
 * path, metrics label, auth rule, allowed origins, behaviour while closing); the route groups
 * (routes/*.ts) give each one its endpoint (handler, the error codes it answers, its OpenAPI
 * operation). The dispatcher (server.ts) applies the policies before any handler runs.
 */
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js'
import type { AckMode } from '../config.js'
import type { ErrorCode } from '../errors.js'
import type { Hub } from '../feed/hub.js'
import type { PublishResult } from '../ingest/ingestor.js'
import type { BodyFormat } from '../ingest/formats.js'
import type { Logger } from '../log.js'
import type { ShardStats } from '../pipeline/shard.js'
import type { CommitSignal } from '../feed/commits.js'
import type { ReadFeed } from '../feed/feed.js'
import type { TopicCounts, TopicsQuery } from '../read-model.js'
import type { TopicActivity } from '../dashboard/topic-activity.js'
import type { Stats } from '../stats/stats.js'
import type { Vitals } from '../stats/vitals.js'
import type { BodyLimits } from './body.js'
import type { StaticFile } from './docs.js'
import type { Exchange } from './respond.js'

export interface Readiness {
  ready: boolean
  checks: Record<string, boolean>
}

/** Everything behind the edge, wired in app.ts: the edge knows nothing of shards or SQL. */
export interface Services {
  /** True while the queues are full: a publish is refused before its body is read. */
  full(): boolean
  publish(body: Uint8Array, format: BodyFormat, ack: AckMode): Promise<PublishResult>
  /** Pages of the feed of stored events. */
  feed: ReadFeed
  /** Wakes readers waiting for the feed to grow. */
  commits: CommitSignal
  stats(): Promise<Stats>
  /** The shards' state, read in this process without the database (the dashboard in an outage). */
  workers(): ShardStats[]
  topics(query: TopicsQuery): Promise<TopicCounts[]>
  ready(): Promise<Readiness>
  /** The dashboard's: all-time counts of a few topics, this process's vitals, its active topics. */
  topicTotals(topics: string[]): Promise<TopicCounts[]>
  vitals(): Promise<Vitals>
  activity: TopicActivity
}

/** What the edge reports and serves for Prometheus (src/stats/metrics.ts). */
export interface HttpMetrics {
  readonly contentType: string
  /** Every answer; `code` is the error code of an error answer. */
  response(route: string, status: number | null, seconds: number, code: ErrorCode | null): void
  text(): Promise<string>
}

/** The server's settings that handlers read. */
export interface HandlerOptions extends BodyLimits {
  ackMode: AckMode
  /** PAGE_MAX_BYTES: the largest page of the feed. */
  pageMaxBytes: number
  /** How far a stream subscriber may fall behind before it is disconnected. */
  subscriberBufferBytes: number
  metrics: HttpMetrics
  log: Logger
  /** The service's version, for the API document and `/healthz`. */
  version: string
}

/** What a handler is given besides its request. */
export interface RouteContext {
  readonly services: Services
  readonly options: HandlerOptions
  /** The stream subscribers, sharing reads of the feed. */
  readonly hub: Hub
  /** True once shutdown began, leaving rotation included: routes that serve while closing may say so. */
  readonly closing: boolean
  /**
   * Runs `hook` once when shutdown begins (at once if it has): a request that waits (a long
   * poll) answers then, so shutdown does not wait for it. Returns the function that cancels it.
   */
  whenClosing(hook: () => void): () => void
  /** The API document, serialised once. */
  readonly openapi: string
  /** `/docs` and its assets, by path. */
  readonly docs: ReadonlyMap<string, StaticFile>
}

/** An OpenAPI operation, without its error answers: those are derived (openapi.ts). */
export type Operation = { summary: string; responses: Record<string, unknown> } & Record<
  string,
  unknown
>

/** Who may call a route: `publish` needs a token when AUTH_TOKENS is set, `read` only with AUTH_READ too. */
export type Auth = 'publish' | 'read' | 'open'

/**
 * Which web pages may call a route. `same`: a request carrying `Origin` (a browser's) must come
 * from the server's own origin or one in ALLOWED_ORIGINS, else 403 `forbidden_origin`; for the
 * routes a foreign page could use without reading the answer: a POST that stores, and the
 * WebSocket (no same-origin policy applies to it). `any`: unchecked; a foreign page cannot read
 * a GET's answer (no CORS headers are sent), and a GET changes nothing.
 */
export type OriginRule = 'same' | 'any'

/** While the server closes: `refuse` answers 503 `shutting_down` and closes the connection. */
export type WhileClosing = 'refuse' | 'serve'

interface Endpoint {
  /** The codes the handler itself answers with; the policies add theirs. */
  errors: readonly ErrorCode[]
  /** Null for paths outside the API (the assets of `/docs`). */
  openapi: Operation | null
}

/** An endpoint answered over HTTP, through an `Exchange`. */
export interface HttpEndpoint extends Endpoint {
  handle(ex: Exchange, req: HttpRequest, context: RouteContext): void
}

/** An endpoint that upgrades an admitted request to a WebSocket. */
export interface SocketEndpoint extends Endpoint {
  upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void
}

export interface Policy {
  method: 'GET' | 'POST'
  /** Exact, or ending in `/*` for everything below (uWebSockets.js patterns). */
  path: string
  /** The metrics label: a fixed name, never the raw URL (unbounded label values). */
  label: string
  auth: Auth
  origin: OriginRule
  whileClosing: WhileClosing
}

export type HttpRoute = Policy & HttpEndpoint
export type SocketRoute = Policy & SocketEndpoint
export type Route = HttpRoute | SocketRoute

export const isSocket = (route: Route): route is SocketRoute => 'upgrade' in route
