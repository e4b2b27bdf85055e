import pino from 'pino'

export type Logger = pino.Logger

/** JSON lines on stdout; the hot path only logs per batch, per-event lines are `debug`. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid } })
}
