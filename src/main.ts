/**
 * The process entry: configuration, logger, the app, and signals. A bad configuration exits 2,
 * a failed start 1, each with one plain line on stderr naming the cause (the start-up failure
 * also logged with its cause); SIGTERM/SIGINT drain accepted events, a second signal exits 130.
 * SIGTERM (an orchestrator's stop) first leaves the load balancer's rotation for
 * SHUTDOWN_DRAIN_MS; SIGINT (Ctrl-C at a terminal) has no balancer to wait for.
 */
import { start, type Running } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { AggregatorError } from './errors.js'
import { createLogger, logFormat } from './log.js'

async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`pubsub-aggregator: ${error.message}\n`)
    process.exit(2)
  }
  const log = createLogger(config.LOG_LEVEL, logFormat(config.LOG_FORMAT, process.stdout))
  let running: Running
  try {
    running = await start(config, log)
  } catch (error) {
    log.fatal({ err: error }, 'start-up failed')
    // known failures carry a sentence naming their cause; anything else at least its message
    const cause =
      error instanceof AggregatorError ? error.message : `start-up failed: ${String(error)}`
    process.stderr.write(`pubsub-aggregator: ${cause}\n`)
    process.exit(1)
  }
  let stopping = false
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without draining')
      process.exit(130)
    }
    stopping = true
    log.info({ signal }, 'shutting down: draining accepted events')
    const force = setTimeout(() => {
      log.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting')
      process.exit(1)
    }, config.SHUTDOWN_TIMEOUT_MS)
    force.unref()
    running.stop(signal === 'SIGTERM' ? config.SHUTDOWN_DRAIN_MS : 0).then(
      () => {
        log.info('stopped cleanly')
        process.exit(0)
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}

await main()
