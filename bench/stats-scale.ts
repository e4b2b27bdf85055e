/**
 * `/stats` at scale (issue 10, item 4): counter rows for 100k topics written straight into a
 * fresh database as three earlier instances left them, then the aggregator started in-process
 * and timed: start-up, `/stats` (latency, size, longest event-loop stall), and `/readyz` while
 * six `/stats` calls run at once. Prints one JSON report.
 *
 *   npm run build && node dist/bench/stats-scale.js [topics]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import pino from 'pino'
import postgres from 'postgres'
import { start } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { startPostgres } from '../test/support/postgres.js'

const topics = Number(process.argv[2] ?? 100_000)
const server = await startPostgres()
const url = await server.createDatabase(`stats_scale_${process.pid}`)
const config = loadConfig({ DATABASE_URL: url, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn' })
const log = pino({ level: 'warn' })

// migrate, then write the rows
await (await start(config, log)).stop()
const sql = postgres(url, { max: 1, onnotice: () => {} })
await sql`
  INSERT INTO counters (instance, shard, topic, unique_processed, duplicate_dropped)
  SELECT 'old-' || i, 0, 'topic.' || n, n % 1000 + 1, 1
  FROM generate_series(1, 3) i, generate_series(1, ${topics}) n`
await sql`ANALYZE counters`

const delay = monitorEventLoopDelay({ resolution: 10 })
delay.enable()
let t0 = performance.now()
const app = await start(config, log)
const startupMs = performance.now() - t0
const base = `http://127.0.0.1:${app.port}`

const calls: { ms: number; bytes: number }[] = []
for (let i = 0; i < 3; i++) {
  t0 = performance.now()
  const body = await (await fetch(`${base}/stats`)).text()
  calls.push({ ms: Math.round(performance.now() - t0), bytes: body.length })
  // past the snapshot's one-second reuse: each call reads the database
  await new Promise((resolve) => setTimeout(resolve, 1100))
}
delay.reset()
const concurrent = Array.from({ length: 6 }, () => fetch(`${base}/stats`).then((r) => r.text()))
const ready = await fetch(`${base}/readyz`)
await Promise.all(concurrent)
const stallMs = Math.round(delay.max / 1e6)

await app.stop()
t0 = performance.now()
await (await start(config, log)).stop()
const restartMs = performance.now() - t0

const [rows] = await sql<{ rows: number }[]>`SELECT count(*)::int AS rows FROM counters`
await sql.end()
await server.dropDatabase(`stats_scale_${process.pid}`)
await server.stop()
console.log(
  JSON.stringify({
    topics,
    startup_ms: Math.round(startupMs),
    restart_ms: Math.round(restartMs),
    stats_calls: calls,
    readyz_under_6_concurrent_stats: ready.status,
    max_event_loop_stall_ms_during_6_stats: stallMs,
    counter_rows_after: rows?.rows,
  }),
)
