/**
 * A pulse as it travels on the WebSocket `/live`: declared once, globally, for both sides. The
 * server builds it (pulse.ts) and the page's script draws it (page/client.ts), which is a classic
 * script inlined into the page: it can import nothing, so the type lives in this ambient file,
 * included by both TypeScript projects.
 */
interface Pulse {
  /** Server clock (epoch ms) when the second ended. */
  at: number
  /** Per second, over the second that ended at `at`. */
  received: number
  unique: number
  duplicates: number
  failed: number
  /** Publish error answers per second, by `"<status> <code>"`; only those that happened. */
  errors: Record<string, number>
  /** That second's quantiles in ms, `null` when nothing was observed. */
  request_p50: number | null
  request_p99: number | null
  commit_p50: number | null
  commit_p99: number | null
  /** Levels at `at`. */
  in_flight: number
  queued: number
  queue_max: number
  held_bytes: number
  held_max_bytes: number
}
