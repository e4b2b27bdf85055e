/**
 * The service's configuration: one valibot schema over the environment, parsed once at boot,
 * frozen. Every bad key is reported together, so an operator fixes them in one pass.
 */
import os from 'node:os'
import path from 'node:path'
import * as v from 'valibot'
import { STORE_NAMES } from './db/store.js'
import { AggregatorError } from './errors.js'
import { serializedOrigin } from './http/origin.js'
import { LOG_FORMATS } from './log.js'

const whole = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, 'must be a whole number'),
    v.transform(Number),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  )

const int = (min: number, max: number, fallback: number) =>
  v.optional(whole(min, max), String(fallback))

const oneOf = <const T extends readonly [string, ...string[]]>(options: T) =>
  v.picklist(options, `must be one of ${options.join(', ')}`)

const choice = <const T extends readonly [string, ...string[]]>(options: T, fallback: T[number]) =>
  v.optional(oneOf(options), fallback)

const text = (fallback: string) =>
  v.optional(v.pipe(v.string(), v.minLength(1, 'must not be empty')), fallback)

export const ConfigSchema = v.object({
  PORT: int(0, 65535, 8080),
  HOST: text('0.0.0.0'),
  DATABASE_URL: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),
      v.url('must be a valid URL'),
    ),
  ),
  DATA_DIR: text('data'),
  STORE: choice(STORE_NAMES, STORE_NAMES[0]),
  SHARDS: int(1, 64, Math.max(1, Math.min(4, os.availableParallelism()))),
  BATCH_MAX_EVENTS: int(1, 100_000, 5000),
  BATCH_MAX_BYTES: int(1024, 1024 ** 3, 8 * 1024 ** 2),
  FLUSH_INTERVAL_MS: int(0, 10_000, 0),
  QUEUE_MAX_EVENTS: int(1, 10_000_000, 200_000),
  QUEUE_MAX_BYTES: int(1024 ** 2, 64 * 1024 ** 3, 64 * 1024 ** 2),
  BODY_LIMIT_BYTES: int(1024, 1024 ** 3, 10 * 1024 ** 2),
  /** Unset: derived from BODY_LIMIT_BYTES (`loadConfig`). */
  BODY_BUDGET_BYTES: v.optional(whole(1024, 64 * 1024 ** 3)),
  PAGE_MAX_BYTES: int(1024, 1024 ** 3, 4 * 1024 ** 2),
  MAX_EVENTS_PER_REQUEST: int(1, 1_000_000, 10_000),
  SUBSCRIBERS_MAX: int(0, 1_000_000, 1000),
  SUBSCRIBER_BUFFER_BYTES: int(1024, 1024 ** 3, 8 * 1024 ** 2),
  SSE_HEARTBEAT_MS: int(100, 3_600_000, 15_000),
  ACK_MODE: choice(['durable', 'async'], 'durable'),
  ACK_TIMEOUT_MS: int(100, 600_000, 30_000),
  LOG_LEVEL: choice(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  /** Unset: pretty on a terminal, JSON otherwise (`logFormat`). */
  LOG_FORMAT: v.optional(oneOf(LOG_FORMATS)),
  DB_TIMEOUT_MS: int(100, 600_000, 10_000),
  DB_RETRY_MS: int(0, 600_000, 10_000),
  DB_WAIT_MS: int(0, 3_600_000, 30_000),
  SHUTDOWN_TIMEOUT_MS: int(100, 600_000, 30_000),
  SHUTDOWN_DRAIN_MS: int(0, 600_000, 5000),
  INSTANCE_ID: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(200))),
  BODY_TIMEOUT_MS: int(100, 600_000, 10_000),
  AUTH_TOKENS: v.optional(
    v.pipe(
      v.string(),
      v.transform((text) => text.split(',').map((token) => token.trim())),
      v.check(
        (tokens) => tokens.every((token) => /^[\x21-\x7e]{16,}$/.test(token)),
        'must be comma-separated tokens of at least 16 printable characters, no spaces',
      ),
    ),
  ),
  AUTH_READ: v.optional(
    v.pipe(
      v.picklist(['true', 'false'], 'must be true or false'),
      v.transform((text) => text === 'true'),
    ),
    'false',
  ),
  UWS_FALLBACK: choice(['refuse', 'allow'], 'refuse'),
  ALLOWED_ORIGINS: v.optional(
    v.pipe(
      v.string(),
      v.transform((text) => text.split(',').map((origin) => origin.trim())),
      v.check(
        (origins) => origins.every((origin) => origin === '*' || serializedOrigin(origin) !== null),
        'must be comma-separated origins (`scheme://host[:port]`, no path), or `*`',
      ),
      v.transform((origins) => origins.map((origin) => serializedOrigin(origin) ?? origin)),
    ),
  ),
})

/** One key's documentation; docs/configuration.md is generated from these and the schema. */
export interface ConfigKeyDoc {
  /** What the number counts (`ms`, `bytes`, `events`…), or the kind of text. */
  unit: string
  /** What the key does, and what raising or lowering it costs. */
  meaning: string
  /** The default as documented, where the schema's depends on the machine or another key. */
  default?: string
}

/** Every key of the schema, documented once: a key added without its line does not compile. */
export const CONFIG_DOCS: { readonly [K in keyof typeof ConfigSchema.entries]: ConfigKeyDoc } = {
  PORT: { unit: 'port', meaning: 'HTTP port; `0` picks a free one (logged at start-up).' },
  HOST: { unit: 'address', meaning: 'Interface to listen on; `127.0.0.1` keeps it local.' },
  DATABASE_URL: {
    unit: 'URL',
    meaning:
      '`postgres://user:pass@host:port/db` (TCP, with `TCP_NODELAY`), or `postgres://user:pass@localhost/db?host=/socket/folder` for a unix socket. Unset: the embedded server under `DATA_DIR`.',
  },
  DATA_DIR: {
    unit: 'path',
    meaning: 'Embedded database folder (`<DATA_DIR>/db`). Unused with `DATABASE_URL`.',
  },
  SHARDS: {
    unit: 'threads',
    default: 'min(4, cores)',
    meaning:
      "Worker threads, each with one database connection. More shards = more parallel commits, until PostgreSQL's CPU is the limit; fewer = larger batches and less CPU per event, which wins where PostgreSQL shares the cores (docs/performance.md, shards per core).",
  },
  BATCH_MAX_EVENTS: {
    unit: 'events',
    meaning:
      'Most events in one COPY + merge. Larger batches amortise the ~6–8 ms per commit; smaller ones bound the latency of one commit.',
  },
  BATCH_MAX_BYTES: {
    unit: 'bytes',
    meaning:
      "Most bytes of rows in one batch, whatever its event count: a batch of large events stays small enough to commit within `DB_TIMEOUT_MS`. One request's share larger than this still goes, alone.",
  },
  FLUSH_INTERVAL_MS: {
    unit: 'ms',
    meaning:
      "Linger before flushing an idle shard. `0` flushes as soon as the shard's connection is free (batches grow by themselves under load); a linger only adds latency.",
  },
  QUEUE_MAX_EVENTS: {
    unit: 'events',
    meaning:
      'Events waiting across all shards before new requests get `503` + `Retry-After`. Bounds memory; larger absorbs longer bursts.',
  },
  QUEUE_MAX_BYTES: {
    unit: 'bytes',
    meaning:
      "Encoded rows held by the shards (queued, or in the batch being stored) before new requests get `503` `queue_full` + `Retry-After`; a request is admitted whole when the shards hold nothing, however large. Bounds the queues' memory by bytes, as `QUEUE_MAX_EVENTS` does by count (see the memory model in docs/operations.md).",
  },
  BODY_BUDGET_BYTES: {
    unit: 'bytes',
    default: '4 × BODY_LIMIT_BYTES',
    meaning:
      'Request bodies being read, decoded and parsed at once, across clients: a body reserves its `Content-Length` before it is read (as it arrives without one; a gzip body also reserves `BODY_LIMIT_BYTES` for its inflated copy) and gives it back once answered or aborted. A body that does not fit gets `503` `queue_full` + `Retry-After`, unread when it declares its length. At least `BODY_LIMIT_BYTES`.',
  },
  BODY_LIMIT_BYTES: {
    unit: 'bytes',
    meaning:
      'Largest request body, compressed as sent and inflated; bigger ones get `413` without being read whole.',
  },
  PAGE_MAX_BYTES: {
    unit: 'bytes',
    meaning:
      'Largest `GET /events` page: a page stops before the event that would pass it (but holds at least one), and its cursor points after its last event. Bounds what one read builds in PostgreSQL and in this process; lower it to read large events in smaller pages.',
  },
  MAX_EVENTS_PER_REQUEST: { unit: 'events', meaning: 'Most events in one request (`413` above).' },
  SUBSCRIBERS_MAX: {
    unit: 'streams',
    meaning:
      '`GET /events/stream` subscribers this process serves at once; one more gets `503` `too_many_subscribers` + `Retry-After`. Subscribers to one topic share one read of the database per commit (at most one every 50 ms), so the cost is mostly the bytes each is sent.',
  },
  SUBSCRIBER_BUFFER_BYTES: {
    unit: 'bytes',
    meaning:
      'How much a stream subscriber that reads slower than events arrive may have waiting in this process before it gets the `subscriber_too_slow` frame and is disconnected (it resumes with `Last-Event-ID`). Bounds memory per subscriber; also caps the size of one read of the feed for streams.',
  },
  SSE_HEARTBEAT_MS: {
    unit: 'ms',
    meaning:
      'A `: heartbeat` comment on every idle stream this often, so proxies keep it open and clients notice a dead one; the feed is also read this often, for commits no signal announced.',
  },
  ACK_MODE: {
    unit: '—',
    meaning:
      '`durable`: answer `200` after commit. `async`: answer `202` once queued — faster, but events still queued when the process dies are lost. `?ack=` overrides it per request.',
  },
  ACK_TIMEOUT_MS: {
    unit: 'ms',
    meaning:
      'Longest a durable request waits for its commit, then `503` `ack_timeout`: its events stay queued, are likely stored later, and a resend is safe. Bounds client waits in an outage.',
  },
  LOG_LEVEL: {
    unit: '—',
    meaning: '`info` logs each batch; `debug` logs each event; `silent` nothing.',
  },
  LOG_FORMAT: {
    unit: '—',
    default: '`pretty` on a terminal, else `json`',
    meaning:
      '`json`: one JSON object a line, for log collectors. `pretty`: one readable line each (pino-pretty), for a person. Both with ISO 8601 times (UTC).',
  },
  DB_TIMEOUT_MS: {
    unit: 'ms',
    meaning: 'Bound on one flush attempt (COPY + merge + commit) and on connecting.',
  },
  DB_RETRY_MS: {
    unit: 'ms',
    meaning:
      'How long a batch retries transient failures (lost connection, deadlock, serialization, server restarting) with backoff before its requests get `503`.',
  },
  DB_WAIT_MS: {
    unit: 'ms',
    meaning:
      'How long start-up waits for the database to answer (containers start in any order), trying again with backoff and logging each attempt, before it exits 1. `0`: one attempt. Each attempt is bounded by `DB_TIMEOUT_MS`; a refusal that waiting cannot cure (wrong password, no such database) exits at once.',
  },
  SHUTDOWN_TIMEOUT_MS: {
    unit: 'ms',
    meaning:
      'Longest graceful shutdown, `SHUTDOWN_DRAIN_MS` included, before the process exits 1 anyway.',
  },
  SHUTDOWN_DRAIN_MS: {
    unit: 'ms',
    meaning:
      "On `SIGTERM`, how long the replica keeps serving every request while `/readyz` already answers `503`, so that a load balancer's health checks take it out of rotation before it refuses anything; then the drain (`503` `shutting_down`, accepted events committed). Give it a little more than the balancer's check interval × its failures to mark a server down. `0`: refuse at once (a single process, no balancer). `SIGINT` (Ctrl-C) skips it. Less than `SHUTDOWN_TIMEOUT_MS`.",
  },
  STORE: {
    unit: '—',
    meaning:
      'Which store implementation the workers write through (`src/db/store.ts`). `postgres`: COPY into a staging table, then one merge statement.',
  },
  INSTANCE_ID: {
    unit: 'text',
    default: '`<hostname>:<PORT>`',
    meaning:
      "Names this replica's counter rows. Give each replica its own (stable across restarts) for the least contention.",
  },
  BODY_TIMEOUT_MS: {
    unit: 'ms',
    meaning:
      'A request body must arrive within this time, or `408` and the connection is closed (a client trickling bytes cannot hold a request open).',
  },
  AUTH_TOKENS: {
    unit: 'tokens',
    meaning:
      'Comma-separated bearer tokens (≥ 16 printable characters each, no spaces). Set: `POST /publish` needs one. Never echoed in logs or errors.',
  },
  AUTH_READ: {
    unit: 'boolean',
    meaning:
      'With `AUTH_TOKENS`, also require a token on `/events`, `/stats`, `/metrics` and `/live`. Health checks, `/docs`, `/openapi.json` and the dashboard page stay open.',
  },
  UWS_FALLBACK: {
    unit: '—',
    meaning:
      "Where no native uWebSockets.js build loads (e.g. Node 24 on glibc < 2.38): `refuse` stops start-up with `ERR_AGG_UWS_UNAVAILABLE`; `allow` serves on the unofficial fork's pure-JS server instead, many times slower, with a warning at start-up and the dashboard's live view (`/live`) answering `501` `live_unavailable`. For development only.",
  },
  ALLOWED_ORIGINS: {
    unit: 'origins',
    meaning:
      "Comma-separated origins (`https://app.example.com`) or `*`: pages that may publish and open `/live` besides the server's own. Requests without `Origin` (not browsers) are unchecked.",
  },
}

type Env = v.InferOutput<typeof ConfigSchema>
export type AckMode = Env['ACK_MODE']

export interface Config extends Readonly<Env> {
  /** Absolute data folder; the embedded database lives in `<dataDir>/db`. */
  readonly dataDir: string
  /** Names this process's counter rows, so replicas on one database never contend. */
  readonly instanceId: string
  /** BODY_BUDGET_BYTES, or its default derived from BODY_LIMIT_BYTES. */
  readonly bodyBudgetBytes: number
}

const SECRET_KEYS = new Set(['AUTH_TOKENS', 'DATABASE_URL'])

export class ConfigError extends AggregatorError {
  constructor(readonly problems: string[]) {
    super('ERR_AGG_CONFIG', `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

/** Reads the keys the schema knows from `env`; empty values count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {}
  for (const key of Object.keys(ConfigSchema.entries)) {
    const value = env[key]
    if (value !== undefined && value !== '') input[key] = value
  }
  const result = v.safeParse(ConfigSchema, input, { abortPipeEarly: true })
  if (!result.success) {
    throw new ConfigError(
      result.issues.map((issue) => {
        const key = v.getDotPath(issue) ?? '?'
        // never echo a secret back into logs
        const shown = SECRET_KEYS.has(key) ? '<hidden>' : JSON.stringify(input[key])
        return `${key}=${shown}: ${issue.message}`
      }),
    )
  }
  const out = result.output
  const bodyBudgetBytes = out.BODY_BUDGET_BYTES ?? 4 * out.BODY_LIMIT_BYTES
  if (bodyBudgetBytes < out.BODY_LIMIT_BYTES) {
    // a body of the largest size allowed could never be read: every such request would get 503
    throw new ConfigError([
      `BODY_BUDGET_BYTES=${JSON.stringify(input.BODY_BUDGET_BYTES)}: must be at least BODY_LIMIT_BYTES (${out.BODY_LIMIT_BYTES})`,
    ])
  }
  if (out.SHUTDOWN_DRAIN_MS >= out.SHUTDOWN_TIMEOUT_MS) {
    // the forced exit would cut the drain period short, before a single accepted event is drained
    throw new ConfigError([
      `SHUTDOWN_DRAIN_MS=${out.SHUTDOWN_DRAIN_MS}: must be less than SHUTDOWN_TIMEOUT_MS (${out.SHUTDOWN_TIMEOUT_MS})`,
    ])
  }
  return Object.freeze({
    ...out,
    dataDir: path.resolve(out.DATA_DIR),
    instanceId: out.INSTANCE_ID ?? `${os.hostname()}:${out.PORT}`,
    bodyBudgetBytes,
  })
}
