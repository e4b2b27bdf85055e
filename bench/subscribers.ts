/**
 * `npm run bench:subscribers`: ingestion at half this machine's maximum rate while 0, 1 and 100
 * clients follow `GET /events/stream` (all topics), each run on a fresh aggregator and database.
 * Reports, per run: the ingestion rate reached and its request latency (the cost of subscribers
 * is the ratio to the run without them), events delivered per second across subscribers, and
 * the delivery lag: arrival at the subscriber minus the event's `received_at` (the database's
 * clock at its transaction's start, so the lag includes the commit itself). Lag is sampled on up
 * to four subscribers; the others only count, so the client's own CPU stays small.
 * `--quick` runs a tiny load (what `npm test` does, so this code cannot rot).
 */
import http from 'node:http'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { spawnAggregator } from '../test/support/aggregator.js'
import { startPostgres, type ToolPostgres } from '../test/support/postgres.js'
import { load } from './load.js'
import { pacedInChild } from './paced.js'
import { Workload } from './workload.js'

const EVENTS_PER_REQUEST = 100
const SAMPLED = 4

export interface SubscribersRun {
  subscribers: number
  /** Events per second published (asked) and stored (reached). */
  targetEventsPerSecond: number
  ingestEventsPerSecond: number
  publishLatencyMs: { p50: number; p99: number }
  stored: number
  /** Every subscriber received every stored event, once. */
  complete: boolean
  deliveredPerSecond: number
  lagMs: { p50: number; p99: number; max: number } | null
}

export interface SubscribersReport {
  maxEventsPerSecond: number
  runs: SubscribersRun[]
}

export interface SubscribersOptions {
  quick: boolean
  log?: (line: string) => void
}

/** A subscriber that counts event frames and, when sampling, each one's lag. */
class Follower {
  events = 0
  readonly lags: number[] = []
  private carry = ''
  private readonly req: http.ClientRequest

  private constructor(
    req: http.ClientRequest,
    res: http.IncomingMessage,
    private readonly sampled: boolean,
  ) {
    this.req = req
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => this.read(chunk))
  }

  static open(url: string, sampled: boolean): Promise<Follower> {
    return new Promise((resolve, reject) => {
      const req = http.get(`${url}/events/stream`, { agent: false }, (res) =>
        res.statusCode === 200
          ? resolve(new Follower(req, res, sampled))
          : reject(new Error(`stream answered ${res.statusCode}`)),
      )
      req.on('error', reject)
    })
  }

  close(): void {
    this.req.destroy()
  }

  private read(chunk: string): void {
    const now = Date.now()
    const text = this.carry + chunk
    const end = text.lastIndexOf('\n\n') + 2
    this.carry = text.slice(end)
    const marker = '"received_at":"'
    for (let at = text.indexOf('\nevent: event\n'); at >= 0 && at < end;) {
      this.events++
      if (this.sampled) {
        const from = text.indexOf(marker, at) + marker.length
        this.lags.push(now - Date.parse(text.slice(from, text.indexOf('"', from))))
      }
      at = text.indexOf('\nevent: event\n', at + 1)
    }
  }
}

export async function subscribersBench(options: SubscribersOptions): Promise<SubscribersReport> {
  const say = options.log ?? ((line: string) => process.stderr.write(line + '\n'))
  const pg = await startPostgres()
  const shards = String(Math.max(1, Math.min(4, os.availableParallelism())))
  const durationS = options.quick ? 1 : 10
  try {
    say('subscribers: the maximum ingestion rate, no subscribers')
    const maxEventsPerSecond = await onFresh(pg, 'bench_subs_max', shards, async (url) => {
      const workload = new Workload(workloadOf('max'))
      const result = await load(workload, {
        url,
        path: '/publish',
        connections: 32,
        durationS,
        generator: 'autocannon',
      })
      return result.requestsPerSecond * EVENTS_PER_REQUEST
    })
    const runs: SubscribersRun[] = []
    for (const subscribers of options.quick ? [0, 1, 3] : [0, 1, 100]) {
      say(`subscribers: ${subscribers} following at half the maximum rate`)
      runs.push(
        await onFresh(pg, `bench_subs_${subscribers}`, shards, (url) =>
          follow(url, subscribers, maxEventsPerSecond / 2, durationS, options.quick),
        ),
      )
    }
    return { maxEventsPerSecond, runs }
  } finally {
    await pg.stop()
  }
}

const workloadOf = (name: string) => ({
  eventsPerRequest: EVENTS_PER_REQUEST,
  duplicates: 0,
  seed: 11,
  runId: `${name}-${Date.now()}`,
})

async function onFresh<T>(
  pg: ToolPostgres,
  name: string,
  shards: string,
  run: (url: string) => Promise<T>,
): Promise<T> {
  const url = await pg.createDatabase(name, 'socket')
  const server = await spawnAggregator({ DATABASE_URL: url, SHARDS: shards, LOG_LEVEL: 'warn' })
  try {
    return await run(server.url)
  } finally {
    await server.stop('SIGTERM')
    await pg.dropDatabase(name)
  }
}

async function follow(
  url: string,
  subscribers: number,
  eventsPerSecond: number,
  durationS: number,
  quick: boolean,
): Promise<SubscribersRun> {
  const followers = await Promise.all(
    Array.from({ length: subscribers }, (_, i) => Follower.open(url, i < SAMPLED)),
  )
  try {
    const started = performance.now()
    const { result } = await pacedInChild(workloadOf(`subs-${subscribers}`), {
      url,
      path: '/publish',
      rate: Math.max(1, eventsPerSecond / EVENTS_PER_REQUEST),
      durationS,
      warmupS: quick ? 0 : 2,
    })
    const stored = await storedEvents(url)
    const seconds = (performance.now() - started) / 1000
    // every subscriber gets every stored event, bounded in time
    const deadline = Date.now() + 60_000
    while (followers.some((f) => f.events < stored) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const delivered = (performance.now() - started) / 1000
    const lags = followers.flatMap((f) => f.lags).sort((a, b) => a - b)
    const at = (q: number) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))]!
    return {
      subscribers,
      targetEventsPerSecond: Math.round(eventsPerSecond),
      ingestEventsPerSecond: Math.round(stored / seconds),
      publishLatencyMs: { p50: result.latencyMs.p50, p99: result.latencyMs.p99 },
      stored,
      complete: followers.every((f) => f.events === stored),
      deliveredPerSecond: Math.round(
        followers.reduce((n, f) => n + f.events, 0) / Math.max(delivered, 1e-3),
      ),
      lagMs: lags.length === 0 ? null : { p50: at(0.5), p99: at(0.99), max: lags.at(-1)! },
    }
  } finally {
    for (const follower of followers) follower.close()
  }
}

/** Once nothing is in flight: what the store holds. */
async function storedEvents(url: string): Promise<number> {
  const deadline = Date.now() + 120_000
  for (;;) {
    const stats = (await (await fetch(`${url}/stats`)).json()) as {
      in_flight: number
      unique_processed: number
    }
    if (stats.in_flight === 0 || Date.now() > deadline) return stats.unique_processed
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })
  const report = await subscribersBench({ quick: values.quick })
  process.stdout.write(JSON.stringify(report, null, 2) + '\n')
}
