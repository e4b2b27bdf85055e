/**
 * docs/performance.md's subscriber results: the `bench:subscribers` run kept in
 * docs/performance-subscribers.json, rendered by bench/subscribers-report.ts.
 * `npm run bench:subscribers -- --write-doc` keeps a new run there and rewrites the section.
 */
import { renderSubscribers } from '../../bench/subscribers-report.js'
import type { SubscribersReport } from '../../bench/subscribers.js'
import { recordedRun } from '../recorded-run.js'

const run = recordedRun<SubscribersReport>({
  file: 'docs/performance.md',
  name: 'subscribers',
  json: 'docs/performance-subscribers.json',
  render: renderSubscribers,
  noRun:
    'No run is recorded yet: `npm run bench:subscribers -- --write-doc` runs it, keeps the ' +
    'results in `docs/performance-subscribers.json` and writes them here.\n',
})

export const { section, record } = run
