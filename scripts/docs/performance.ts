/**
 * docs/performance.md's results: the bench run kept in docs/performance.json, rendered by
 * bench/report.ts. `npm run bench -- --write-doc` keeps a new run there and rewrites the section.
 */
import type { CpuPerEvent } from '../../bench/cpu.js'
import { renderReport } from '../../bench/report.js'
import type { BenchReport, ScenarioResult } from '../../bench/run.js'
import { recordedRun } from '../recorded-run.js'

/** A run recorded before the bench read CPU time from `/proc` and could use wrk. */
type EarlierReport = Omit<
  BenchReport,
  'scenarios' | 'naive' | 'limit' | 'generators' | 'generator'
> &
  Partial<Pick<BenchReport, 'generators' | 'generator'>> & {
    scenarios: Omit<ScenarioResult, 'cpu'>[]
    naive: Omit<ScenarioResult, 'cpu'>[]
    limit: Omit<BenchReport['limit'], 'cpu'>
  }

const NO_CPU: CpuPerEvent = {
  aggregatorMain: null,
  aggregatorOthers: null,
  postgres: null,
  generator: null,
}

/** Such a run shows its CPU figures as absent, never made up; its load came from autocannon. */
function current(report: BenchReport | EarlierReport): BenchReport {
  const withCpu = (s: Omit<ScenarioResult, 'cpu'>): ScenarioResult => ({ cpu: NO_CPU, ...s })
  return {
    ...report,
    scenarios: report.scenarios.map(withCpu),
    naive: report.naive.map(withCpu),
    limit: { cpu: { postgres: null, client: null }, ...report.limit },
    generators: report.generators ?? [],
    generator: report.generator ?? 'autocannon',
  }
}

const run = recordedRun<BenchReport | EarlierReport>({
  file: 'docs/performance.md',
  name: 'performance',
  json: 'docs/performance.json',
  render: (report) => renderReport(current(report)),
  noRun:
    'No run is recorded yet: `npm run bench -- --write-doc` runs every scenario, keeps the results ' +
    'in `docs/performance.json` and writes them here.\n',
})

export const { section, record } = run
