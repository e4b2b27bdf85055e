/**
 * The process's logger: JSON lines for machines (production, pipes, log collectors), or
 * pino-pretty's lines for a person at a terminal. Both carry ISO 8601 times, so a line reads the
 * same in either and sorts as text.
 */
import pino from 'pino'
import { prettyFactory } from 'pino-pretty'

export type Logger = pino.Logger

export const LOG_FORMATS = ['json', 'pretty'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

/** `LOG_FORMAT` when set; else pretty on a terminal, JSON anywhere else. */
export function logFormat(configured: LogFormat | undefined, stdout: { isTTY?: boolean }) {
  return configured ?? (stdout.isTTY === true ? 'pretty' : 'json')
}

/**
 * The hot path only logs per batch, per-event lines are `debug`. Lines are written
 * synchronously, so the last one before `process.exit` is never lost.
 */
export function createLogger(
  level: string,
  format: LogFormat,
  destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true }),
): Logger {
  const options = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }
  if (format === 'json') return pino(options, destination)
  // the time is ISO already: printed as it is, not translated
  const prettify = prettyFactory({ translateTime: false, ignore: 'pid' })
  return pino(options, { write: (line: string) => destination.write(prettify(line)) })
}
