/**
 * The aggregator inside the test's own process: `start()` from src/app.ts, the app as main.ts
 * runs it minus signals and exit codes, on 127.0.0.1 and a free port, configured only by the
 * given keys (never by the developer's environment), its log lines kept in memory.
 */
import type { Test } from 'tap'
import { start } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/log.js'

export interface App {
  url: string
  port: number
  /** Every log line so far, parsed; the level is `LOG_LEVEL` (info unless given). */
  logs: Record<string, unknown>[]
  /** Drains and stops, as on SIGTERM; also done when the test ends. */
  stop(): Promise<void>
}

export async function startApp(t: Test, env: Record<string, string>): Promise<App> {
  const config = loadConfig({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env })
  const logs: Record<string, unknown>[] = []
  const log = createLogger(config.LOG_LEVEL, 'json', {
    write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>),
  })
  const running = await start(config, log)
  let stopped: Promise<void> | null = null
  const stop = () => (stopped ??= running.stop().then(closeFetchConnections))
  t.teardown(async () => {
    await stop()
    if (!t.passing()) reportProblems(logs)
  })
  return { url: `http://127.0.0.1:${running.port}`, port: running.port, logs, stop }
}

/**
 * The warnings and errors of a failed test's app, on stderr where the run shows them: a failure
 * in CI (or in a container) is then explained by the run's own output.
 */
function reportProblems(logs: readonly Record<string, unknown>[]): void {
  const problems = logs.filter((line) => (line.level as number) >= 40)
  if (problems.length === 0) return
  const lines = problems.map((line) => JSON.stringify(line)).join('\n')
  process.stderr.write(`the app's warnings and errors during the failed test:\n${lines}\n`)
}

/**
 * fetch() keeps its connections open for reuse, and with the server in this process an open
 * connection keeps the event loop alive: the test file would end only once they idle out
 * (seconds). So a stopped app's connections are closed, behind a fresh pool for later requests.
 * Node's fetch takes its pool from this symbol, undici's way of sharing the global dispatcher.
 */
async function closeFetchConnections(): Promise<void> {
  const key = Symbol.for('undici.globalDispatcher.1')
  const global = globalThis as unknown as Record<symbol, Dispatcher | undefined>
  const pool = global[key]
  if (pool === undefined) return
  global[key] = new pool.constructor()
  await pool.close()
}

interface Dispatcher {
  constructor: new () => Dispatcher
  close(): Promise<void>
}
