/**
 * `npm run bench`: every scenario against a fresh aggregator and database, then the references
 * (the database's own limit, the naive design, the HTTP floor: bench/baselines/), on 127.0.0.1. Writes
 * `bench/results/<timestamp>.json` and prints the run as Markdown (bench/report.ts). `--quick`
 * runs a tiny load (what `npm test` does, so this code cannot rot); `--profile` adds a CPU
 * profile of the first scenario chosen (scenario 1 without `--only`); `--write-doc` keeps the
 * run as docs/performance.json and renders docs/performance.md from it.
 *
 * Every run also reads, from `/proc` just before and after the load, the CPU the aggregator
 * (main thread, other threads), PostgreSQL (the whole server) and the load generator spent per
 * event (bench/cpu.ts): on a shared machine the figure that holds still. The closed-loop loads
 * use wrk when it is there or can be installed, and a last reference sends the same load with
 * each generator, to show what each costs per request.
 */
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import WebSocket from 'ws'
import { connect, type Sql } from '../src/db/connect.js'
import { migrate } from '../src/db/migrate.js'
import { urlTarget } from '../src/db/target.js'
import { spawnAggregator, type Aggregator } from '../test/support/aggregator.js'
import { per, perEvent, postmasterOf, sample, type CpuPerEvent, type CpuProbe } from './cpu.js'
import { measureLimit, type LimitResult } from './limit.js'
import { GENERATORS, load, type Generator, type LoadResult } from './load.js'
import { benchShards, machine, type Machine } from './machine.js'
import { pacedInChild } from './paced.js'
import { summariseProfiles, type ProfileLine } from './profile.js'
import { startPostgres, tempDir, type ToolPostgres } from '../test/support/postgres.js'
import {
  DUPLICATES,
  floorLoad,
  generatorLoad,
  naiveLoads,
  scenarios,
  type Scenario,
} from './scenarios.js'
import { Workload, type WorkloadOptions } from './workload.js'
import { ensureWrk } from './wrk.js'
import { renderReport } from './report.js'
import { finishRun, refuseQuickRecord, type Recording } from './results.js'
import { drained, stats } from './server-stats.js'
import type { Stats } from '../src/stats/stats.js'
import { record } from '../scripts/docs/performance.js'
import { command, UsageError, wholeNumber } from '../src/cli/command.js'

const NAIVE = fileURLToPath(new URL('./baselines/naive.js', import.meta.url))
const FLOOR = fileURLToPath(new URL('./baselines/http-floor.js', import.meta.url))

export interface ScenarioResult {
  id: string
  title: string
  events: number
  eventsPerSecond: number
  requestsPerSecond: number
  latencyMs: { p50: number; p99: number; max: number }
  refused: number
  /** Events per committed batch, from the shards' counts in `/stats`; absent where none is kept. */
  eventsPerBatch?: number
  peakRssMb: number
  exact: boolean
  problems: string[]
  /** CPU per event over the measured load (the generator's per request). */
  cpu: CpuPerEvent
}

export interface BenchReport {
  machine: Machine
  startedAt: string
  quick: boolean
  shards: number
  scenarios: ScenarioResult[]
  limit: LimitResult
  naive: ScenarioResult[]
  /** Scenario 2's load against the HTTP floor; absent from runs recorded before it existed. */
  floor?: ScenarioResult
  /** The same load sent by each load generator, for what each costs per request. */
  generators: ScenarioResult[]
  /** The generator of the closed-loop scenarios. */
  generator: Generator
  /** Server settings given with `--postgres name=value`, beyond the embedded server's own. */
  postgres: Record<string, string>
  /** The CPU profile of the scenario `--profile` ran (its id), summarised. */
  profile: { scenario: string; lines: ProfileLine[] } | null
}

export interface BenchOptions {
  quick: boolean
  profile: boolean
  /** Scenario ids to run (all when empty); references always run. */
  only?: string[]
  /** PostgreSQL settings to try (e.g. `commit_delay`), for the embedded server. */
  postgres?: Record<string, string>
  /** The aggregators' SHARDS, and the limit's connections; the default's value when absent. */
  shards?: number
  log?: (line: string) => void
}

export async function bench(options: BenchOptions): Promise<BenchReport> {
  const say = options.log ?? ((line: string) => process.stderr.write(line + '\n'))
  const startedAt = new Date().toISOString()
  const postgres = options.postgres ?? {}
  const pg = await startPostgres(postgres)
  const shards = options.shards ?? benchShards()
  const generator: Generator = ensureWrk(say) ? 'wrk' : 'autocannon'
  const results: ScenarioResult[] = []
  const naive: ScenarioResult[] = []
  const generators: ScenarioResult[] = []
  let profile: BenchReport['profile'] = null
  let limit: LimitResult
  let floor: ScenarioResult
  try {
    const postmaster = await serverPid(pg)
    const common = { shards, generator, postmaster }
    const chosen = scenarios(options.quick).filter(
      (s) => !options.only?.length || options.only.includes(s.id),
    )
    for (const scenario of chosen) {
      const measured = (id: string | undefined) =>
        results.find((r) => r.id === id)?.requestsPerSecond
      const rate = measured(scenario.rateOf?.scenario)
      // without the reference scenario in this run, a rate this machine sustains
      const sizing = measured(scenario.requestsFor?.scenario) ?? 300
      say(`scenario ${scenario.id}: ${scenario.title}`)
      results.push(
        await runScenario(pg, scenario, {
          ...common,
          rate: rate === undefined ? undefined : rate * scenario.rateOf!.share,
          requestsFor: scenario.requestsFor && sizing * scenario.requestsFor.seconds,
        }),
      )
    }
    say('reference: the database limit (COPY + merge, no HTTP)')
    const url = await pg.createDatabase('bench_limit', 'socket')
    limit = await measureLimit({
      url,
      connections: shards,
      events: options.quick ? 2000 : 300_000,
      batchEvents: 2000,
      duplicates: DUPLICATES,
      seed: 1,
      postmaster,
    })
    for (const scenario of naiveLoads(options.quick)) {
      say(`reference: ${scenario.title}`)
      naive.push(await runScenario(pg, scenario, { ...common, script: NAIVE }))
    }
    const floorScenario = floorLoad(options.quick)
    say(`reference: ${floorScenario.title}`)
    floor = await runScenario(pg, floorScenario, { ...common, script: FLOOR })
    for (const name of generator === 'wrk' ? GENERATORS : GENERATORS.slice(1)) {
      const scenario = generatorLoad(options.quick, name)
      say(`reference: ${scenario.title}`)
      generators.push(await runScenario(pg, scenario, { ...common, generator: name }))
    }
    if (options.profile) {
      const profiled = chosen[0] ?? scenarios(options.quick)[0]!
      say(`profile: scenario ${profiled.id} under --cpu-prof`)
      const dir = await tempDir('profile')
      await runScenario(pg, profiled, {
        ...common,
        nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
      })
      try {
        profile = { scenario: profiled.id, lines: await summariseProfiles(dir) }
      } finally {
        // the raw profiles are large and summarised above: nothing to keep
        await rm(dir, { recursive: true, force: true })
      }
    }
  } finally {
    await pg.stop()
  }
  return {
    machine: machine(),
    startedAt,
    quick: options.quick,
    shards,
    scenarios: results,
    limit,
    naive,
    floor,
    generators,
    generator,
    postgres,
    profile,
  }
}

/** The embedded (or local) server's postmaster, for its CPU; null when not on this machine. */
async function serverPid(pg: ToolPostgres): Promise<number | null> {
  const sql = connect(urlTarget(pg.url), { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`
    return await postmasterOf(row!.pid)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

interface RunOptions {
  shards: number
  generator: Generator
  /** The database server's postmaster, whose process tree is sampled. */
  postmaster: number | null
  rate?: number | undefined
  script?: string
  nodeArgs?: string[]
  /** Requests to send, from another scenario's rate (`Scenario.requestsFor`). */
  requestsFor?: number | undefined
}

async function runScenario(pg: ToolPostgres, s: Scenario, o: RunOptions): Promise<ScenarioResult> {
  const name = `bench_${s.id.replace(/\W/g, '_')}`
  // over the unix socket, as `npm start` reaches its embedded server
  const url = await pg.createDatabase(name, 'socket')
  const sql = connect(urlTarget(url), { max: 1, onnotice: () => {} })
  let server: Aggregator | null = null
  let viewers: WebSocket[] = []
  try {
    if (s.preload) await preload(sql, url, s.preload)
    server = await spawnAggregator(
      { DATABASE_URL: url, SHARDS: String(o.shards), ACK_MODE: s.ack, LOG_LEVEL: 'info' },
      o.nodeArgs,
      o.script,
    )
    viewers = await openDashboards(server.url, s.viewers ?? 0)
    const before = await stats(server.url)
    const settings: WorkloadOptions = {
      eventsPerRequest: s.eventsPerRequest,
      duplicates: DUPLICATES,
      seed: 7,
      runId: `${name}-${Date.now()}`,
    }
    const workload = new Workload(settings)
    const requests =
      s.requests ??
      (o.requestsFor === undefined ? undefined : Math.max(1, Math.round(o.requestsFor)))
    // wrk reads its bodies from a file it writes: preparing them here would hold them twice
    if (requests !== undefined && o.generator !== 'wrk') workload.prepare(requests)
    const probe: CpuProbe = { aggregator: server.child.pid ?? null, postmaster: o.postmaster }
    const cpuBefore = await sample(probe)
    let started = performance.now()
    const path = `/publish?ack=${s.ack}`
    let generated = { events: 0, unique: 0 }
    let result: LoadResult
    if (o.rate !== undefined) {
      const run = await pacedInChild(settings, {
        url: server.url,
        path,
        rate: o.rate,
        durationS: s.durationS ?? 10,
        warmupS: s.warmupS ?? 0,
      })
      result = run.result
      generated = run
    } else {
      result = await load(workload, {
        generator: o.generator,
        url: server.url,
        path,
        connections: s.connections,
        ...(requests !== undefined ? { requests } : { durationS: s.durationS ?? 10 }),
      })
      generated = workload
      // from the generator's first request: wrk's reading of its bodies is not the server's time
      started = performance.now() - result.seconds * 1000
    }
    const after = await drained(server.url)
    const cpuAfter = await sample(probe)
    const seconds = (performance.now() - started) / 1000
    const peakRssMb = await server.peakRssMb()
    const rows = s.stores === false ? 0 : await storedRows(sql)
    const received = after.received - before.received
    const batches = committedBatches(after) - committedBatches(before)
    const unique = after.unique_processed - before.unique_processed
    const problems: string[] = []
    const expect = (ok: boolean, what: string) => ok || problems.push(what)
    expect(
      after.unique_processed === rows,
      `unique_processed ${after.unique_processed} ≠ ${rows} rows`,
    )
    expect(
      received === unique + (after.duplicate_dropped - before.duplicate_dropped),
      'received ≠ unique + duplicates',
    )
    // a timed run stops with up to one request per connection unanswered but still delivered
    const acknowledged = result.ok * s.eventsPerRequest
    const unanswered = s.requests === undefined ? s.connections * s.eventsPerRequest : 0
    expect(
      received >= acknowledged && received <= acknowledged + unanswered,
      `received ${received}, acknowledged ${acknowledged} (+ at most ${unanswered} unanswered)`,
    )
    if (s.stores !== false && result.failed === 0 && generated.events === received) {
      expect(
        unique === generated.unique,
        `stored ${unique} new events, the load had ${generated.unique}`,
      )
    }
    return {
      id: s.id,
      title: s.title,
      events: received,
      eventsPerSecond: Math.round(received / seconds),
      requestsPerSecond: result.requestsPerSecond,
      latencyMs: result.latencyMs,
      refused: result.failed,
      ...(batches > 0 ? { eventsPerBatch: Math.round(received / batches) } : {}),
      peakRssMb,
      exact: problems.length === 0,
      problems,
      cpu: perEvent(received, cpuBefore, cpuAfter, {
        name: o.rate === undefined ? o.generator : 'node:http (paced)',
        perRequest:
          result.generatorCpuUs === null ? null : per(result.requests, 0, result.generatorCpuUs),
      }),
    }
  } finally {
    for (const viewer of viewers) viewer.terminate()
    await server?.stop('SIGTERM')
    await sql.end({ timeout: 5 })
    await pg.dropDatabase(name)
  }
}

/** Batches committed so far; the naive baseline and the HTTP floor answer `/stats` without shards. */
function committedBatches(s: Partial<Pick<Stats, 'shards'>>): number {
  return (s.shards ?? []).reduce((n, shard) => n + shard.batches, 0)
}

async function storedRows(sql: Sql): Promise<number> {
  return Number((await sql`SELECT count(*) AS n FROM events`)[0]!.n)
}

/** Fills the table (and its counters, so they agree) before a sustained run. */
async function preload(sql: Sql, url: string, rows: number): Promise<void> {
  const admin = connect(urlTarget(url), { max: 1, onnotice: () => {} })
  await migrate(admin)
  await admin.end({ timeout: 5 })
  const payload = JSON.stringify({
    content: 'preloaded',
    metadata: { amount: 1, currency: 'IDR' },
    order: { id: 'ORD-00000000', channel: 'mobile', items: 3 },
  })
  for (let from = 1; from <= rows; from += 500_000) {
    const to = Math.min(rows, from + 499_999)
    await sql`
      INSERT INTO events (topic, event_id, ts, source, payload)
      SELECT 'preload.topic-' || (g % 10), 'preload-' || g, now(), 'payment-gateway-A', ${payload}::json
      FROM generate_series(${from}::int, ${to}::int) g`
  }
  await sql`
    INSERT INTO counters (instance, shard, topic, unique_processed, duplicate_dropped)
    SELECT 'preload', 0, topic, count(*), 0 FROM events GROUP BY topic`
  await sql`VACUUM ANALYZE events`
}

/** Dashboard viewers on `/live`, each already shown its first snapshot. */
async function openDashboards(url: string, count: number): Promise<WebSocket[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const viewer = new WebSocket(`${url.replace('http:', 'ws:')}/live`)
      await once(viewer, 'message')
      return viewer
    }),
  )
}

/** `--postgres name=value`: one server setting. */
function setting(text: string): [string, string] {
  const at = text.indexOf('=')
  if (at <= 0) throw new UsageError(`--postgres takes name=value, not ${JSON.stringify(text)}`)
  return [text.slice(0, at), text.slice(at + 1)]
}

/** `--shards N`: within the range SHARDS accepts. */
function shardCount(text: string): number {
  const n = wholeNumber('shards', text)
  if (n > 64) throw new UsageError('--shards must be at most 64, as SHARDS')
  return n
}

const USAGE = `npm run bench -- [options]: every scenario and reference, see docs/performance.md

  --only 1,2              only these scenarios (the references always run)
  --profile               a CPU profile of the aggregator under the first scenario chosen
  --postgres name=value   the embedded PostgreSQL with this setting (repeatable)
  --shards N              SHARDS of the aggregators, connections of the limit
                          (default: SHARDS' default, one per core, at most 4)
  --quick                 a tiny load, what npm test runs; its figures mean nothing
  --write-doc             keep the run as docs/performance.json, rewrite docs/performance.md
  -h, --help              this text
`

/** The command: its exit code; bad options throw (src/cli/command.ts says them in one line). */
export async function main(
  argv: string[],
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      only: { type: 'string', default: '' },
      postgres: { type: 'string', multiple: true, default: [] },
      shards: { type: 'string' },
      'write-doc': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    out.write(USAGE)
    return 0
  }
  refuseQuickRecord(values.quick, values['write-doc'])
  const only = values.only.split(',').filter(Boolean)
  const postgres = Object.fromEntries(values.postgres.map(setting))
  const shards = values.shards === undefined ? undefined : shardCount(values.shards)
  const report = await bench({
    quick: values.quick,
    profile: values.profile,
    only,
    postgres,
    shards,
  })
  await finishRun(RECORDING, report, values['write-doc'])
  return 0
}

const RECORDING: Recording<BenchReport> = {
  command: 'bench',
  prefix: '',
  render: renderReport,
  record,
  docs: 'docs/performance.md and docs/performance.json',
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await command(RECORDING.command, () => main(process.argv.slice(2)))
}
