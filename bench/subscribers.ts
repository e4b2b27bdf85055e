/**
 * `npm run bench:subscribers`: ingestion at half this machine's maximum rate while 0, 1 and 100
 * clients follow `GET /events/stream`, each run on a fresh aggregator and database. The single
 * subscriber follows every topic; the hundred follow one topic each (ten per topic of the ten the
 * load spreads its events over), so each topic's ten share one read (src/feed/hub.ts).
 *
 * Per run: the ingestion rate reached, its request latency and the CPU the aggregator and
 * PostgreSQL spent per event (the cost of subscribers is the ratio to the run without them), and
 * how many cores the aggregator, PostgreSQL and the subscribers' client kept busy;
 * events delivered per second; and the delivery lag, sampled on up to four subscribers after the
 * warm-up: arrival at the subscriber minus the commit of the transaction that stored the event
 * (PostgreSQL's commit timestamp; on a server that records none, the transaction's start,
 * `received_at`), split where the event became readable (see `lagsOf`). Every phase is bounded in
 * time and fails with what it was waiting for; at the end, every subscriber must have received
 * exactly the stored events of what it follows, each once, in feed order.
 *
 * `--quick` runs a tiny load (what `npm test` does, so this code cannot rot); `--write-doc`
 * keeps the run as docs/performance-subscribers.json and renders its section of
 * docs/performance.md from it.
 */
import http from 'node:http'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { connect, type Sql } from '../src/db/connect.js'
import { urlTarget } from '../src/db/target.js'
import { spawnAggregator, type Aggregator } from '../test/support/aggregator.js'
import { startPostgres, type ToolPostgres } from '../test/support/postgres.js'
import { record } from '../scripts/docs/subscribers.js'
import { command } from '../src/cli/command.js'
import { postmasterOf, processCpu, treeCpu } from './cpu.js'
import { load } from './load.js'
import { benchShards, machine, type Machine } from './machine.js'
import { pacedInChild } from './paced.js'
import { finishRun, refuseQuickRecord, type Recording } from './results.js'
import { drained } from './server-stats.js'
import { renderSubscribers } from './subscribers-report.js'
import { Workload } from './workload.js'

const EVENTS_PER_REQUEST = 100
const TOPICS = 10
const SAMPLED = 4

/** Who follows what in one run. */
export interface Following {
  subscribers: number
  /** `all`: every subscriber follows every topic; `each`: subscriber i follows topic i mod 10. */
  topics: 'all' | 'each'
}

export interface SubscribersRun extends Following {
  /** Events per second published (asked) and stored (reached, first request to all stored). */
  targetEventsPerSecond: number
  ingestEventsPerSecond: number
  publishLatencyMs: { p50: number; p99: number }
  refused: number
  stored: number
  /** CPU milliseconds per thousand stored events; database null where /proc does not show it. */
  cpuMsPerThousand: { aggregator: number | null; database: number | null }
  /**
   * CPU seconds per second over the run: how much of the machine each party kept busy. `client`
   * is this process, which reads every subscriber's stream (the paced load has its own).
   */
  coresBusy: { aggregator: number | null; database: number | null; client: number }
  /** Events received across subscribers per second (first request to last delivery), and each. */
  deliveredPerSecond: number
  deliveredPerSubscriber: number
  lagMs: { p50: number; p99: number; max: number; samples: number } | null
  /**
   * What the lag counts from: the storing transaction's commit (PostgreSQL's commit timestamp,
   * with `track_commit_timestamp` on), or, on a server without it, its start (`received_at`).
   */
  lagFrom: 'commit' | 'transaction start'
  /**
   * The lag from a commit in two parts (null without commit times): `held`, until every older
   * transaction had ended too and the event was readable (the feed's guarantee), and `delivery`,
   * from then to its arrival (wake-up, read, write, the client's receipt).
   */
  lagParts: { held: Quantiles; delivery: Quantiles } | null
  /**
   * The lag figures count events stored after the warm-up, as the publish latency does; this is
   * the longest lag during the warm-up (a fresh process), null without samples.
   */
  warmupLagMaxMs: number | null
  exact: boolean
  problems: string[]
}

export interface Quantiles {
  p50: number
  p99: number
}

export interface SubscribersReport {
  machine: Machine
  startedAt: string
  /** `os.loadavg()` when the bench started: the machine is shared. */
  loadAverage: number[]
  quick: boolean
  shards: number
  maxEventsPerSecond: number
  runs: SubscribersRun[]
}

export interface SubscribersOptions {
  quick: boolean
  log?: (line: string) => void
}

interface Sizes {
  maxRequests: number
  durationS: number
  warmupS: number
  /** The longest any phase may take before the bench gives up on it. */
  phaseMs: number
  runs: Following[]
}

const sizes = (quick: boolean): Sizes =>
  quick
    ? {
        maxRequests: 20,
        durationS: 1,
        warmupS: 0,
        phaseMs: 60_000,
        runs: [
          { subscribers: 0, topics: 'all' },
          { subscribers: 1, topics: 'all' },
          { subscribers: 3, topics: 'each' },
        ],
      }
    : {
        maxRequests: 3000,
        durationS: 10,
        warmupS: 2,
        phaseMs: 120_000,
        runs: [
          { subscribers: 0, topics: 'all' },
          { subscribers: 1, topics: 'all' },
          { subscribers: 100, topics: 'each' },
        ],
      }

export async function subscribersBench(options: SubscribersOptions): Promise<SubscribersReport> {
  const say = options.log ?? ((line: string) => process.stderr.write(line + '\n'))
  const startedAt = new Date().toISOString()
  const loadAverage = os.loadavg().map((l) => Math.round(l * 100) / 100)
  const size = sizes(options.quick)
  const shards = benchShards()
  // commit timestamps for the lag (a server given by DATABASE_URL keeps its own setting)
  const pg = await startPostgres({ track_commit_timestamp: 'on' })
  try {
    say('subscribers: the maximum ingestion rate, no subscribers')
    const maxEventsPerSecond = await onFresh(pg, 'bench_subs_max', shards, size, (server) =>
      maximum(server, size),
    )
    const runs: SubscribersRun[] = []
    for (const following of size.runs) {
      say(`subscribers: ${following.subscribers} following at half the maximum rate`)
      runs.push(
        await onFresh(pg, `bench_subs_${following.subscribers}`, shards, size, (server, sql) =>
          follow(server, sql, following, maxEventsPerSecond / 2, size),
        ),
      )
    }
    return {
      machine: machine(),
      startedAt,
      loadAverage,
      quick: options.quick,
      shards,
      maxEventsPerSecond,
      runs,
    }
  } finally {
    await pg.stop()
  }
}

/** `work`, or an error naming `what` once it has taken `ms`. */
async function within<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`bench:subscribers stalled: ${what} took over ${ms / 1000} s`)),
      ms,
    )
  })
  try {
    return await Promise.race([work, stalled])
  } finally {
    clearTimeout(timer)
  }
}

const workloadOf = (name: string) => ({
  eventsPerRequest: EVENTS_PER_REQUEST,
  duplicates: 0,
  seed: 11,
  runId: `${name}-${Date.now()}`,
  topics: TOPICS,
})

async function onFresh<T>(
  pg: ToolPostgres,
  name: string,
  shards: number,
  size: Sizes,
  run: (server: Aggregator, sql: Sql) => Promise<T>,
): Promise<T> {
  const url = await pg.createDatabase(name, 'socket')
  // the start-up line that names the port is logged at info
  const server = await within(
    'starting the aggregator',
    size.phaseMs,
    spawnAggregator({ DATABASE_URL: url, SHARDS: String(shards), LOG_LEVEL: 'info' }),
  )
  const sql = connect(urlTarget(url), { max: 1, onnotice: () => {} })
  try {
    return await run(server, sql)
  } finally {
    await server.stop('SIGTERM')
    await sql.end({ timeout: 5 })
    await pg.dropDatabase(name)
  }
}

/** Events per second stored under a closed-loop load, first request to the last one stored. */
async function maximum(server: Aggregator, size: Sizes): Promise<number> {
  const workload = new Workload(workloadOf('max'))
  workload.prepare(size.maxRequests)
  const started = performance.now()
  await within(
    'the maximum-rate load',
    size.phaseMs,
    load(workload, {
      url: server.url,
      path: '/publish',
      connections: 32,
      requests: size.maxRequests,
      generator: 'autocannon',
    }),
  )
  const { unique_processed: stored } = await drained(server.url, size.phaseMs)
  return Math.round(stored / ((performance.now() - started) / 1000))
}

async function follow(
  server: Aggregator,
  sql: Sql,
  following: Following,
  eventsPerSecond: number,
  size: Sizes,
): Promise<SubscribersRun> {
  const { subscribers, topics } = following
  const topicOf = (i: number) => (topics === 'all' ? null : `bench.topic-${i % TOPICS}`)
  const followers = await within(
    `opening ${subscribers} streams`,
    size.phaseMs,
    Promise.all(
      Array.from({ length: subscribers }, (_, i) =>
        Follower.open(server.url, topicOf(i), i < SAMPLED),
      ),
    ),
  )
  try {
    const database = await databaseCpu(sql)
    const cpuSeconds = async () =>
      [await processCpu(server.child.pid!), await database()].map((us) => us && us / 1e6)
    const cpuBefore = await cpuSeconds()
    const clientBefore = process.cpuUsage()
    const started = performance.now()
    const measuredFrom = Date.now() + size.warmupS * 1000
    const { result } = await within(
      'the paced load',
      size.phaseMs + (size.warmupS + size.durationS) * 1000,
      pacedInChild(workloadOf(`subs-${subscribers}`), {
        url: server.url,
        path: '/publish',
        rate: Math.max(1, eventsPerSecond / EVENTS_PER_REQUEST),
        durationS: size.durationS,
        warmupS: size.warmupS,
      }),
    )
    await drained(server.url, size.phaseMs)
    const seconds = (performance.now() - started) / 1000
    const cpuAfter = await cpuSeconds()
    const client = process.cpuUsage(clientBefore)
    const byTopic = await storedByTopic(sql)
    const stored = [...byTopic.values()].reduce((n, c) => n + c, 0)
    const expected = (i: number) => {
      const topic = topicOf(i)
      return topic === null ? stored : (byTopic.get(topic) ?? 0)
    }
    // every subscriber gets what it follows: bounded, and a stall is reported with the counts
    const deadline = Date.now() + size.phaseMs
    while (followers.some((f, i) => f.events < expected(i) && f.ended === null)) {
      if (Date.now() > deadline) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const deliveredS = (Math.max(...followers.map((f) => f.lastAt), started) - started) / 1000
    const problems = followers.flatMap((f, i) => f.problems(expected(i)).map((p) => `#${i}: ${p}`))
    const delivered = followers.reduce((n, f) => n + f.events, 0)
    const {
      from: lagFrom,
      lags,
      parts,
      warmupMax,
    } = await lagsOf(
      sql,
      followers.flatMap((f) => f.samples),
      measuredFrom,
    )
    const used = (i: number) => {
      const [before, after] = [cpuBefore[i], cpuAfter[i]]
      return before == null || after == null ? null : after - before
    }
    const perThousand = (i: number) => {
      const cpu = used(i)
      return cpu === null || stored === 0 ? null : Math.round((cpu * 1e7) / stored) / 10
    }
    const cores = (cpu: number | null) =>
      cpu === null ? null : Math.round((cpu / seconds) * 100) / 100
    return {
      ...following,
      targetEventsPerSecond: Math.round(eventsPerSecond),
      ingestEventsPerSecond: Math.round(stored / seconds),
      publishLatencyMs: { p50: result.latencyMs.p50, p99: result.latencyMs.p99 },
      refused: result.failed,
      stored,
      cpuMsPerThousand: { aggregator: perThousand(0), database: perThousand(1) },
      coresBusy: {
        aggregator: cores(used(0)),
        database: cores(used(1)),
        client: cores((client.user + client.system) / 1e6)!,
      },
      deliveredPerSecond: Math.round(delivered / Math.max(deliveredS, 1e-3)),
      deliveredPerSubscriber:
        subscribers === 0 ? 0 : Math.round(delivered / subscribers / Math.max(deliveredS, 1e-3)),
      lagMs:
        lags.length === 0
          ? null
          : {
              ...quantiles(lags),
              max: lags.reduce((a, b) => Math.max(a, b)),
              samples: lags.length,
            },
      lagFrom,
      lagParts: parts,
      warmupLagMaxMs: warmupMax,
      exact: problems.length === 0,
      problems: problems.slice(0, 10),
    }
  } finally {
    for (const follower of followers) follower.close()
  }
}

/** Reads the CPU (µs) used so far by the database server behind `sql`'s connection. */
async function databaseCpu(sql: Sql): Promise<() => Promise<number | null>> {
  const [row] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`
  const postmaster = await postmasterOf(row!.pid)
  return async () => (postmaster === null ? null : treeCpu(postmaster))
}

async function storedByTopic(sql: Sql): Promise<Map<string, number>> {
  const rows = await sql<{ topic: string; n: string }[]>`
    SELECT topic, count(*) AS n FROM events GROUP BY topic`
  return new Map(rows.map((r) => [r.topic, Number(r.n)]))
}

/** A sampled event: its transaction (from its cursor), its `received_at` and its arrival, in ms. */
interface Sample {
  xid: string
  receivedAt: number
  at: number
}

/** The `q` quantile of ascending `sorted`, which is not empty. */
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

const quantiles = (values: number[]): Quantiles => {
  const sorted = values.toSorted((a, b) => a - b)
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) }
}

/**
 * Each sample's lag: from its transaction's commit when the server records commit times, then
 * also split at the moment it became readable. That is the latest commit of its own transaction
 * and every older one that stored events: a transaction that stored none (NOTIFY's, a batch of
 * duplicates only) is not counted, so `held` is a lower bound. Samples stored before
 * `measuredFrom` (epoch ms: the warm-up) only give `warmupMax`.
 */
async function lagsOf(
  sql: Sql,
  samples: Sample[],
  measuredFrom: number,
): Promise<{
  from: SubscribersRun['lagFrom']
  lags: number[]
  parts: SubscribersRun['lagParts']
  warmupMax: number | null
}> {
  const [setting] = await sql<{ on: boolean }[]>`
    SELECT current_setting('track_commit_timestamp') = 'on' AS on`
  const split = <S extends { stamp: number; lag: number }>(stamped: S[]) => {
    const warmup = stamped.filter((s) => s.stamp < measuredFrom).map((s) => s.lag)
    return {
      measured: stamped.filter((s) => s.stamp >= measuredFrom),
      warmupMax: warmup.length === 0 ? null : Math.max(...warmup),
    }
  }
  if (!setting!.on) {
    const { measured, warmupMax } = split(
      samples.map((s) => ({ stamp: s.receivedAt, lag: s.at - s.receivedAt })),
    )
    return { from: 'transaction start', lags: measured.map((s) => s.lag), parts: null, warmupMax }
  }
  // pg_xact_commit_timestamp takes a 32-bit xid: the low half of the xid8
  const rows = await sql<{ xid: string; ms: number; readable: number }[]>`
    WITH stored AS (SELECT DISTINCT xid FROM events), committed AS (
      SELECT xid, extract(epoch FROM pg_xact_commit_timestamp(
               (xid::text::numeric % 4294967296)::text::xid))::float8 * 1000 AS ms
      FROM stored)
    SELECT xid::text, ms, max(ms) OVER (ORDER BY xid ROWS UNBOUNDED PRECEDING) AS readable
    FROM committed`
  const byXid = new Map(rows.map((r) => [r.xid, r]))
  const { measured, warmupMax } = split(
    samples.map((s) => {
      const { ms, readable } = byXid.get(s.xid)!
      const lag = Math.round(s.at - ms)
      const held = Math.round(readable - ms)
      return { stamp: ms, lag, held, delivery: Math.round(s.at - readable) }
    }),
  )
  return {
    from: 'commit',
    lags: measured.map((s) => s.lag),
    parts:
      measured.length === 0
        ? null
        : {
            held: quantiles(measured.map((s) => s.held)),
            delivery: quantiles(measured.map((s) => s.delivery)),
          },
    warmupMax,
  }
}

const EVENT_FRAME = '\nevent: event\n'
const RECEIVED_AT = /"received_at"\s*:\s*"([^"]+)"/

/**
 * A subscriber: counts event frames, checks that each comes after the previous one in feed
 * order (so, with the count, that it got every stored event once), and when sampling records each
 * one's lag.
 */
class Follower {
  events = 0
  /** Events not after the one before: repeated or out of order. */
  disordered = 0
  readonly samples: Sample[] = []
  /** Sampled events whose `received_at` could not be read. */
  unstamped = 0
  /** When the last event arrived (performance.now()). */
  lastAt = 0
  /** The stream's end frame, if the server ended it. */
  ended: string | null = null
  private last = Buffer.alloc(16)
  private carry = ''

  private constructor(
    private readonly req: http.ClientRequest,
    res: http.IncomingMessage,
    private readonly sampled: boolean,
  ) {
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => this.read(chunk))
  }

  static open(url: string, topic: string | null, sampled: boolean): Promise<Follower> {
    const query = topic === null ? '' : `?topic=${encodeURIComponent(topic)}`
    return new Promise((resolve, reject) => {
      const req = http.get(`${url}/events/stream${query}`, { agent: false }, (res) =>
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

  problems(expected: number): string[] {
    const problems: string[] = []
    if (this.ended !== null) problems.push(`the server ended the stream: ${this.ended}`)
    if (this.events !== expected) problems.push(`received ${this.events} of ${expected} events`)
    if (this.disordered > 0) problems.push(`${this.disordered} events repeated or out of order`)
    if (this.unstamped > 0) problems.push(`${this.unstamped} events without a readable received_at`)
    return problems
  }

  private read(chunk: string): void {
    const now = Date.now()
    const text = this.carry + chunk
    // frames end with a blank line; a chunk may end inside one, or hold none whole
    const end = text.lastIndexOf('\n\n') + 2
    if (end < 2) {
      this.carry = text
      return
    }
    this.carry = text.slice(end)
    for (let at = 0; at < end;) {
      const next = text.indexOf('\n\n', at) + 2
      this.frame(text.slice(at, next), now)
      at = next
    }
  }

  private frame(frame: string, now: number): void {
    if (frame.startsWith('event: error\n')) {
      this.ended = frame.slice(frame.indexOf('data: ') + 6).trim()
      return
    }
    if (!frame.startsWith('id: ') || !frame.includes(EVENT_FRAME)) return
    this.events++
    this.lastAt = performance.now()
    const position = Buffer.from(frame.slice(4, frame.indexOf('\n')), 'base64url')
    if (Buffer.compare(position, this.last) <= 0) this.disordered++
    this.last = position
    if (this.sampled) {
      const receivedAt = Date.parse(RECEIVED_AT.exec(frame)?.[1] ?? '')
      if (Number.isNaN(receivedAt)) this.unstamped++
      else this.samples.push({ xid: position.readBigUInt64BE(0).toString(), receivedAt, at: now })
    }
  }
}

const USAGE = `npm run bench:subscribers -- [options]: ingestion while subscribers follow the feed

  --quick                 a tiny load, what npm test runs; its figures mean nothing
  --write-doc             keep the run as docs/performance-subscribers.json, rewrite
                          docs/performance.md
  -h, --help              this text
`

async function main(): Promise<number> {
  const { values } = parseArgs({
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      'write-doc': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  refuseQuickRecord(values.quick, values['write-doc'])
  const report = await subscribersBench({ quick: values.quick })
  await finishRun(RECORDING, report, values['write-doc'])
  return 0
}

const RECORDING: Recording<SubscribersReport> = {
  command: 'bench:subscribers',
  prefix: 'subscribers-',
  render: renderSubscribers,
  record,
  docs: 'docs/performance.md and docs/performance-subscribers.json',
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await command(RECORDING.command, main)
