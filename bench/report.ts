/**
 * A bench run as Markdown: the machine it ran on, one row per scenario and reference, the
 * project's targets checked against it, and the CPU profile when one was taken. `npm run bench`
 * prints it; with `--write-doc` the run is kept in docs/performance.json and this text becomes
 * the generated section of docs/performance.md (scripts/docs/performance.ts), so the numbers in
 * the docs are always those of a recorded run.
 */
import { markdownTable, type Align } from '../scripts/markdown.js'
import type { CpuPerEvent } from './cpu.js'
import type { BenchReport, ScenarioResult } from './run.js'

/** What the design promised, each checked against the runs a report has. */
export interface Target<Report> {
  what: string
  measured(report: Report): number | undefined
  shown(value: number): string
  met(value: number): boolean
}

export const pct = (x: number) => `${Math.round(x * 100)}%`
const times = (x: number) => `${x.toFixed(1)}×`
export const count = (x: number) => x.toLocaleString('en')

const scenario = (report: BenchReport, id: string) => report.scenarios.find((s) => s.id === id)

/** Batched scenarios are compared with the naive design under batches, the others with singles. */
function naiveFor(report: BenchReport, s: ScenarioResult): ScenarioResult | undefined {
  const batched = s.id.startsWith('1') || s.id === '4' || s.id === '5'
  return report.naive.find((n) => n.id === (batched ? 'naive-100' : 'naive-1'))
}

function vsNaive(report: BenchReport, id: string): number | undefined {
  const s = scenario(report, id)
  const n = s && naiveFor(report, s)
  return s && n && s.eventsPerSecond / n.eventsPerSecond
}

const TARGETS: Target<BenchReport>[] = [
  {
    what: 'scenario 1 at ≥ 75% of the limit',
    measured: (r) => {
      const s = scenario(r, '1')
      return s && s.eventsPerSecond / r.limit.eventsPerSecond
    },
    shown: pct,
    met: (x) => x >= 0.75,
  },
  {
    what: 'scenario 1 at ≥ 5× naive',
    measured: (r) => vsNaive(r, '1'),
    shown: times,
    met: (x) => x >= 5,
  },
  {
    what: 'scenario 2 at ≥ 3× naive',
    measured: (r) => vsNaive(r, '2'),
    shown: times,
    met: (x) => x >= 3,
  },
  {
    what: 'scenario 2½ (half load) p99 latency ≤ 50 ms',
    measured: (r) => scenario(r, '2½')?.latencyMs.p99,
    shown: (ms) => `${ms} ms`,
    met: (ms) => ms <= 50,
  },
  {
    what: 'scenario 5 (5 M rows stored) within 15% of scenario 1',
    measured: (r) => {
      const [sustained, fresh] = [scenario(r, '5'), scenario(r, '1')]
      return sustained && fresh && sustained.eventsPerSecond / fresh.eventsPerSecond
    },
    shown: pct,
    met: (x) => Math.abs(x - 1) <= 0.15,
  },
  ...cpuTarget('1', 'aggregator', 10),
  ...cpuTarget('1', 'PostgreSQL', 27),
  ...cpuTarget('2', 'aggregator', 40),
  ...cpuTarget('2', 'PostgreSQL', 40),
  {
    what: 'peak RSS ≤ 300 MB',
    measured: (r) =>
      r.scenarios.length > 0 ? Math.max(...r.scenarios.map((s) => s.peakRssMb)) : undefined,
    shown: (mb) => `${mb} MB`,
    met: (mb) => mb <= 300,
  },
]

/** One of issue 13's CPU targets: at most `us` µs of CPU per event in a scenario. */
function cpuTarget(
  id: string,
  side: 'aggregator' | 'PostgreSQL',
  us: number,
): Target<BenchReport>[] {
  return [
    {
      what: `scenario ${id}: ${side} ≤ ${us} µs of CPU per event`,
      measured: (r) => {
        const s = scenario(r, id)
        return s && ((side === 'aggregator' ? aggregatorTotal(s.cpu) : s.cpu.postgres) ?? undefined)
      },
      shown: (x) => `${x.toFixed(1)} µs`,
      met: (x) => x <= us,
    },
  ]
}

function aggregatorTotal(cpu: CpuPerEvent): number | null {
  const { aggregatorMain: main, aggregatorOthers: others } = cpu
  return main === null || others === null ? null : Math.round((main + others) * 10) / 10
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`

const COLUMNS: [string, Align][] = [
  ['#', 'left'],
  ['scenario', 'left'],
  ['events/s', 'right'],
  ['HTTP req/s', 'right'],
  ['latency ms p50 / p99 / max', 'left'],
  ['events/batch', 'right'],
  ['peak RSS MB', 'right'],
  ['of limit', 'right'],
  ['vs naive', 'right'],
  ['exact', 'left'],
]

function row(report: BenchReport, s: ScenarioResult, naive: ScenarioResult | undefined): string[] {
  const { p50, p99, max } = s.latencyMs
  return [
    s.id,
    s.title,
    count(s.eventsPerSecond),
    count(s.requestsPerSecond),
    `${p50} / ${p99} / ${max}`,
    s.eventsPerBatch === undefined ? '–' : count(s.eventsPerBatch),
    String(s.peakRssMb),
    pct(s.eventsPerSecond / report.limit.eventsPerSecond),
    naive ? times(s.eventsPerSecond / naive.eventsPerSecond) : '–',
    s.exact ? 'yes' : `NO: ${s.problems.join('; ')}`,
  ]
}

function results(report: BenchReport): string {
  const limit = [
    'limit',
    `COPY + merge straight into PostgreSQL, ${plural(report.shards, 'connection')}`,
  ]
  const rows = [
    ...report.scenarios.map((s) => row(report, s, naiveFor(report, s))),
    [...limit, count(report.limit.eventsPerSecond), '–', '–', '–', '–', '100%', '–', '–'],
    ...report.naive.map((n) => row(report, n, n)),
    ...floorOf(report).map((f) => row(report, f, undefined)),
  ]
  return markdownTable(
    COLUMNS.map(([head]) => head),
    rows,
    COLUMNS.map(([, align]) => align),
  )
}

const floorOf = (report: BenchReport) => (report.floor === undefined ? [] : [report.floor])

const CPU_COLUMNS: [string, Align][] = [
  ['#', 'left'],
  ['scenario', 'left'],
  ['aggregator main thread', 'right'],
  ['aggregator other threads', 'right'],
  ['aggregator total', 'right'],
  ['PostgreSQL', 'right'],
  ['load generator µs/request', 'right'],
]

const us = (x: number | null | undefined) => (x == null ? '–' : x.toFixed(1))

function cpuRow(s: ScenarioResult): string[] {
  const { cpu } = s
  const generator = cpu.generator && `${us(cpu.generator.perRequest)} (${cpu.generator.name})`
  return [
    s.id,
    s.title,
    us(cpu.aggregatorMain),
    us(cpu.aggregatorOthers),
    us(aggregatorTotal(cpu)),
    us(cpu.postgres),
    generator ?? '–',
  ]
}

/** µs of CPU per event of each side, from `/proc` (bench/cpu.ts). */
function cpuTable(report: BenchReport): string {
  const { cpu } = report.limit
  const limit = ['limit', 'COPY + merge straight into PostgreSQL', '–', '–', '–', us(cpu.postgres)]
  const rows = [
    ...report.scenarios.map(cpuRow),
    [...limit, `${us(cpu.client)} (the client, per event)`],
    ...report.naive.map(cpuRow),
    ...floorOf(report).map(cpuRow),
    ...report.generators.map(cpuRow),
  ]
  return (
    'CPU per event, in µs (user + system, from `/proc`, over the measured load), by who spent it:\n\n' +
    markdownTable(
      CPU_COLUMNS.map(([head]) => head),
      rows,
      CPU_COLUMNS.map(([, align]) => align),
    )
  )
}

/** The targets this run has the runs for, checked; null when it has none of them. */
export function checkTargets<Report>(targets: Target<Report>[], report: Report): string | null {
  const rows = targets.flatMap((t) => {
    const value = t.measured(report)
    return value === undefined ? [] : [[t.what, t.shown(value), t.met(value) ? 'yes' : '**no**']]
  })
  if (rows.length === 0) return null
  return 'The targets, checked:\n\n' + markdownTable(['target', 'this run', 'met'], rows)
}

const settingsTried = (settings: Record<string, string>) => {
  const given = Object.entries(settings).map(([name, value]) => `\`${name} = ${value}\``)
  return given.length === 0 ? '' : ` PostgreSQL run with ${given.join(', ')}.`
}

export function renderReport(report: BenchReport): string {
  const m = report.machine
  const when = `${report.startedAt.slice(0, 16).replace('T', ' ')} UTC`
  const parts = [
    `Run of ${when} on ${m.cpus} cores (${m.model}), ${m.memoryGb} GiB, Node ${m.node}, ` +
      `${m.platform}; ${plural(report.shards, 'shard')}; closed-loop load from ${report.generator}.` +
      settingsTried(report.postgres) +
      (report.quick ? ' **Quick run: a tiny load, the figures mean nothing.**' : ''),
    results(report),
    cpuTable(report),
  ]
  const checked = checkTargets(TARGETS, report)
  if (checked !== null) parts.push(checked)
  if (report.profile !== null) {
    const { scenario, lines: profiled } = report.profile
    const lines = profiled.map(
      (p) => `${p.share.toFixed(1).padStart(5)}%  ${p.thread.padEnd(6)} ${p.fn}`,
    )
    parts.push(
      `CPU profile of the aggregator under scenario ${scenario} (self time, all threads, idle excluded):`,
      ['```text', ...lines, '```'].join('\n'),
    )
  }
  return parts.join('\n\n') + '\n'
}
