/**
 * docs/performance.md's results: the bench run kept in docs/performance.json, rendered by
 * bench/report.ts. `npm run bench -- --write-doc` keeps a new run there and rewrites the section.
 */
import { renderReport } from '../../bench/report.js'
import type { BenchReport } from '../../bench/run.js'
import { recordedRun } from '../recorded-run.js'

const run = recordedRun<BenchReport>({
  file: 'docs/performance.md',
  name: 'performance',
  json: 'docs/performance.json',
  render: renderReport,
  noRun:
    'No run is recorded yet: `npm run bench -- --write-doc` runs every scenario, keeps the results ' +
    'in `docs/performance.json` and writes them here.\n',
})

export const { section, record } = run
