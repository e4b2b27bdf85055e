/**
 * A `bench:subscribers` run as Markdown: the machine and its load, one row per run, and the
 * issue's targets checked against it. `npm run bench:subscribers` prints it; with `--write-doc`
 * it becomes the `subscribers` section of docs/performance.md (scripts/docs/subscribers.ts).
 */
import { markdownTable, type Align } from '../scripts/markdown.js'
import { checkTargets, count, pct, type Target } from './report.js'
import type { SubscribersReport, SubscribersRun } from './subscribers.js'

const ms = (x: number | null) => (x === null ? '–' : x.toFixed(1))
const ratio = (x: number | null, base: number | null) =>
  x === null || base === null || base === 0 ? '–' : `${(x / base).toFixed(2)}×`

const follows = (r: SubscribersRun) =>
  r.subscribers === 0 ? '–' : r.topics === 'all' ? 'all topics' : 'one topic each'

const COLUMNS: [string, Align][] = [
  ['subscribers', 'right'],
  ['following', 'left'],
  ['ingest events/s (asked)', 'right'],
  ['vs none', 'right'],
  ['publish ms p50 / p99', 'left'],
  ['CPU ms / 1k events: aggregator, database', 'left'],
  ['CPU vs none', 'right'],
  ['cores busy: aggregator, database, client', 'left'],
  ['delivered events/s: total, each', 'left'],
  ['lag ms p50 / p99 / max', 'left'],
  ['of which held, then delivery: ms p50 / p99', 'left'],
  ['exact', 'left'],
]

const cpuOf = (r: SubscribersRun) =>
  r.cpuMsPerThousand.aggregator === null
    ? null
    : r.cpuMsPerThousand.aggregator + (r.cpuMsPerThousand.database ?? 0)

function row(r: SubscribersRun, none: SubscribersRun | undefined): string[] {
  const lag = r.lagMs
  return [
    String(r.subscribers),
    follows(r),
    `${count(r.ingestEventsPerSecond)} (${count(r.targetEventsPerSecond)})`,
    none ? pct(r.ingestEventsPerSecond / none.ingestEventsPerSecond) : '–',
    `${r.publishLatencyMs.p50} / ${r.publishLatencyMs.p99}`,
    `${ms(r.cpuMsPerThousand.aggregator)}, ${ms(r.cpuMsPerThousand.database)}`,
    none ? ratio(cpuOf(r), cpuOf(none)) : '–',
    [r.coresBusy.aggregator, r.coresBusy.database, r.coresBusy.client]
      .map((c) => (c === null ? '–' : c.toFixed(2)))
      .join(', '),
    r.subscribers === 0
      ? '–'
      : `${count(r.deliveredPerSecond)}, ${count(r.deliveredPerSubscriber)}`,
    lag === null ? '–' : `${lag.p50} / ${lag.p99} / ${lag.max}`,
    r.lagParts === null
      ? '–'
      : `${r.lagParts.held.p50} / ${r.lagParts.held.p99}, ` +
        `${r.lagParts.delivery.p50} / ${r.lagParts.delivery.p99}`,
    r.exact ? 'yes' : `NO: ${r.problems.join('; ')}`,
  ]
}

const most = (report: SubscribersReport) =>
  report.runs.reduce<SubscribersRun | undefined>(
    (m, r) => (m === undefined || r.subscribers > m.subscribers ? r : m),
    undefined,
  )
const none = (report: SubscribersReport) => report.runs.find((r) => r.subscribers === 0)

const TARGETS: Target<SubscribersReport>[] = [
  {
    what: 'p99 lag ≤ 250 ms with the most subscribers',
    measured: (r) => most(r)?.lagMs?.p99,
    shown: (x) => `${x} ms`,
    met: (x) => x <= 250,
  },
  {
    what: 'ingestion with the most subscribers within 10% of none',
    measured: (r) => {
      const [m, n] = [most(r), none(r)]
      return m && n && m !== n ? m.ingestEventsPerSecond / n.ingestEventsPerSecond : undefined
    },
    shown: pct,
    met: (x) => x >= 0.9,
  },
]

export function renderSubscribers(report: SubscribersReport): string {
  const m = report.machine
  const when = `${report.startedAt.slice(0, 16).replace('T', ' ')} UTC`
  const base = none(report)
  const parts = [
    `Run of ${when} on ${m.cpus} cores (${m.model}), ${m.memoryGb} GiB, Node ${m.node}, ` +
      `${m.platform}; ${report.shards} shards; load average ${report.loadAverage.join(' / ')} ` +
      `at the start. Maximum rate measured first: ${count(report.maxEventsPerSecond)} events/s; ` +
      `each run is paced at half of it.` +
      (report.quick ? ' **Quick run: a tiny load, the figures mean nothing.**' : ''),
    markdownTable(
      COLUMNS.map(([head]) => head),
      report.runs.map((r) => row(r, base)),
      COLUMNS.map(([, align]) => align),
    ),
  ]
  const from = report.runs.find((r) => r.lagMs !== null)?.lagFrom
  if (from !== undefined) {
    const warmups = report.runs
      .filter((r) => r.warmupLagMaxMs !== null)
      .map((r) => `${r.warmupLagMaxMs} ms with ${r.subscribers}`)
    parts.push(
      'Lag counts the events stored after the warm-up, as the publish latency does' +
        (warmups.length === 0
          ? '.'
          : `; during the warm-up, on a fresh process, the longest was ${warmups.join(', ')}.`),
    )
    parts.push(
      from === 'commit'
        ? 'Lag is counted from each event’s commit (PostgreSQL’s commit timestamp) to its ' +
            'arrival, and split where it became readable: **held** is the wait for every older ' +
            'transaction to end (the feed’s guarantee), **delivery** the rest (wake-up, read, ' +
            'write, receipt). Each part’s quantiles are its own.'
        : 'Lag is counted from the start of the transaction that stored each event (`received_at`; ' +
            'the server records no commit times) to its arrival: it includes that transaction.',
    )
  }
  const checked = checkTargets(TARGETS, report)
  if (checked !== null) parts.push(checked)
  return parts.join('\n\n') + '\n'
}
