/**
 * Errors the aggregator raises itself. Internal failures are classes with a stable `code` under
 * one prefix (`ERR_AGG_*`, after Node's `ERR_*` and postgres.js's codes) and a `name`, so logs
 * and retry rules match on the code, never on a message.
 */
import { MAX_BODY_VALUES, MAX_OBJECT_KEYS } from './ingest/body-scan.js'

export class AggregatorError extends Error {
  constructor(
    readonly code: InternalCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/**
 * Every internal code, with what it means: these reach logs and exit messages, never an HTTP
 * answer (which carries a public code from `ERRORS` instead). docs/errors.md lists them.
 */
export const INTERNAL_ERRORS = {
  ERR_AGG_CONFIG: 'The environment holds an invalid setting; the process exits 2 naming each.',
  ERR_AGG_PORT_IN_USE:
    'Another process listens on PORT at HOST; the aggregator holds its port alone, never shared.',
  ERR_AGG_LISTEN:
    'The HTTP port could not be bound for another reason (not allowed, no such address).',
  ERR_AGG_DATA_DIR:
    'DATA_DIR cannot be created or written (a file in its path, permissions, read-only).',
  ERR_AGG_DATA_DIR_IN_USE: 'Another running aggregator holds DATA_DIR (its `aggregator.pid`).',
  ERR_AGG_DATA_DIR_TOO_DEEP: "DATA_DIR is too long a path for the embedded server's unix socket.",
  ERR_AGG_EMBEDDED_START: 'The embedded PostgreSQL exited or did not become ready at start-up.',
  ERR_AGG_EMBEDDED_ORPHAN:
    'A PostgreSQL left running by an earlier aggregator on DATA_DIR did not stop when asked.',
  ERR_AGG_DB_ENCODING:
    'The database is not encoded UTF8 (its events would be refused or stored unchecked); the process does not start.',
  ERR_AGG_DB_UNREACHABLE:
    'The database did not answer within DB_WAIT_MS at start-up (each attempt is logged).',
  ERR_AGG_DB_REFUSED:
    'The database answered start-up with an error that waiting does not cure (password, no such database).',
  ERR_AGG_FEED_XIDS:
    "Stored events carry transaction ids at or above the cluster's next one (a dump restored into another cluster): new events would sort behind cursors given out. The process does not start; the message names the `pg_resetwal` that moves the cluster's counter past them.",
  ERR_AGG_UNKNOWN_STORE: 'STORE names no store implementation.',
  ERR_AGG_UWS_UNAVAILABLE:
    'No installed uWebSockets.js binary loads on this Node version and C library (the message names why each did not); the process does not start, unless `UWS_FALLBACK=allow` lets it serve on the slow pure-JS server.',
  ERR_AGG_DASHBOARD_NOT_BUILT: 'The dashboard bundle is missing from dist/: run `npm run build`.',
  ERR_AGG_ATTEMPT_TIMEOUT:
    'One flush attempt exceeded DB_TIMEOUT_MS; its statement is cancelled in the database, then it is retried.',
  ERR_AGG_SESSION_NOT_STOPPED:
    'A flush attempt that exceeded DB_TIMEOUT_MS was cancelled, but its database session had not ended after another DB_TIMEOUT_MS; the batch is retried.',
  ERR_AGG_SESSION_REPLACED:
    "A batch's database session was replaced between its merge and its COMMIT (the connection was lost and reopened): the COMMIT reached a session without the transaction, so nothing was committed; the batch is retried.",
  ERR_AGG_WRITE_GAVE_UP:
    "A worker gave a batch up (an error that is not transient, or DB_RETRY_MS ran out); its message carries the last error's code (e.g. the SQLSTATE) and the attempts.",
  ERR_AGG_BATCH_FAILED:
    'A batch failed after its retries; its requests get `store_unavailable` (the cause is logged).',
} as const

export type InternalCode = keyof typeof INTERNAL_ERRORS

/** How an answer with one code is made; `ERRORS` holds one per code. */
export interface ErrorSpec {
  status: number
  /** Seconds for the `Retry-After` header, on codes worth retrying; absent otherwise. */
  retryAfter?: number
  /**
   * Whether the answer closes the connection. `'body-unread'`: only when the request is refused
   * before its body was read to the end (the rest is not worth reading); once the body has
   * arrived, the connection stays open for the client's next request.
   */
  closes: boolean | 'body-unread'
  /** One line for the docs (`docs/errors.md`) and the API document. */
  meaning: string
}

/**
 * Every error code the HTTP API answers, as `{"error": code, "message": …}`. The codes are public
 * and stable: clients match on them, never on the message. Answers take their status,
 * `Retry-After` and connection handling from here (`Exchange.fail`); the API document and
 * docs/errors.md are generated from it, and test/unit/errors.test.ts checks that the source
 * emits exactly these codes.
 */
export const ERRORS = {
  malformed_json: {
    status: 400,
    closes: false,
    meaning: 'The body (or one NDJSON line) is not JSON, or not UTF-8.',
  },
  duplicate_key: {
    status: 400,
    closes: false,
    meaning: 'An object in the body repeats a key: which value is meant is ambiguous.',
  },
  invalid_body: {
    status: 400,
    closes: false,
    meaning: 'The body is JSON but not an event, an array of events, or `{"events": [...]}`.',
  },
  invalid_query: {
    status: 400,
    closes: false,
    meaning:
      'A query parameter is invalid or given more than once, or the database refused its value as data (SQLSTATE class 22).',
  },
  invalid_cursor: {
    status: 400,
    closes: false,
    meaning:
      'The cursor (`after`, `Last-Event-ID`) is not one this server gave out; numeric cursors of older versions are refused, except `0` (the start).',
  },
  malformed_gzip: {
    status: 400,
    closes: false,
    meaning: 'A `Content-Encoding: gzip` body does not inflate.',
  },
  unauthorized: {
    status: 401,
    closes: false,
    meaning:
      'AUTH_TOKENS is set and no valid bearer token was sent (reads need one only with AUTH_READ).',
  },
  forbidden_origin: {
    status: 403,
    closes: false,
    meaning:
      'A browser page from a foreign origin may not publish or open `/live` (see ALLOWED_ORIGINS).',
  },
  not_found: {
    status: 404,
    closes: false,
    meaning: 'No route for this path, or no such file under `/docs`.',
  },
  method_not_allowed: {
    status: 405,
    closes: false,
    meaning: 'The path exists, not with this method; `Allow` names the method.',
  },
  body_timeout: {
    status: 408,
    closes: true,
    meaning: 'The body did not arrive within BODY_TIMEOUT_MS.',
  },
  body_too_large: {
    status: 413,
    closes: 'body-unread',
    meaning: 'The body, or its gzip inflation, is over BODY_LIMIT_BYTES.',
  },
  body_too_complex: {
    status: 413,
    closes: false,
    meaning: `An object in the body has over ${MAX_OBJECT_KEYS} keys, or the body over ${MAX_BODY_VALUES} JSON values.`,
  },
  too_many_events: {
    status: 413,
    closes: false,
    meaning: 'The request carries more than MAX_EVENTS_PER_REQUEST events.',
  },
  unsupported_media_type: {
    status: 415,
    closes: false,
    meaning: '`Content-Type` is neither JSON nor NDJSON.',
  },
  unsupported_encoding: {
    status: 415,
    closes: false,
    meaning: '`Content-Encoding` is neither gzip nor absent.',
  },
  validation: {
    status: 422,
    closes: false,
    meaning: 'At least one event is invalid (`issues` says which and why); none was accepted.',
  },
  upgrade_required: {
    status: 426,
    closes: false,
    meaning: '`GET /live` is a WebSocket: the request must carry `Upgrade: websocket`.',
  },
  live_unavailable: {
    status: 501,
    closes: false,
    meaning:
      'This process serves on the pure-JS fallback (`UWS_FALLBACK=allow`), which has no WebSocket: the live view is off; `GET /stats` still answers.',
  },
  internal: {
    status: 500,
    closes: false,
    meaning: 'An unexpected server error; its cause is logged, never sent.',
  },
  queue_full: {
    status: 503,
    retryAfter: 1,
    // answered before a large body is read, the connection stays open and the server drops the
    // rest of the body as it arrives: closing with it in flight resets the connection, and the
    // client loses the answer that tells it to retry
    closes: false,
    meaning:
      'The queues (QUEUE_MAX_EVENTS, QUEUE_MAX_BYTES) or the budget for bodies being read (BODY_BUDGET_BYTES) are full; nothing of the request was accepted.',
  },
  store_unavailable: {
    status: 503,
    retryAfter: 1,
    closes: false,
    meaning:
      'The store did not commit the events: their batch failed after its retries (`ack=durable`).',
  },
  ack_timeout: {
    status: 503,
    retryAfter: 1,
    closes: false,
    meaning:
      'A durable request was not committed within ACK_TIMEOUT_MS; it may be stored yet: resend it.',
  },
  database_unavailable: {
    status: 503,
    retryAfter: 1,
    closes: false,
    meaning: 'The database could not be read.',
  },
  too_many_subscribers: {
    status: 503,
    retryAfter: 1,
    closes: false,
    meaning: 'SUBSCRIBERS_MAX streams are open on this server already.',
  },
  shutting_down: {
    status: 503,
    retryAfter: 1,
    closes: true,
    meaning: 'The server is shutting down; requests already accepted are still answered.',
  },
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERRORS

/** Every code, in the catalogue's order (by status). */
export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[]

/** The entry for `code` as an `ErrorSpec`: the entries differ in which optional keys they set. */
export const errorSpec = (code: ErrorCode): ErrorSpec => ERRORS[code]
