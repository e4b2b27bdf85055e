/**
 * docs/performance.md's results: the bench run kept in docs/performance.json, rendered by
 * bench/report.ts. `npm run bench -- --write-doc` keeps a new run there and rewrites the section,
 * so the page's numbers are always those of a recorded run, with the machine it ran on.
 */
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { renderReport } from '../../bench/report.js'
import type { BenchReport } from '../../bench/run.js'
import { current, ROOT, splice, type GeneratedSection } from '../generated-docs.js'

export const RESULTS = path.join(ROOT, 'docs/performance.json')

const NO_RUN =
  'No run is recorded yet: `npm run bench -- --write-doc` runs every scenario, keeps the results ' +
  'in `docs/performance.json` and writes them here.\n'

function recorded(): BenchReport | null {
  try {
    return JSON.parse(readFileSync(RESULTS, 'utf8')) as BenchReport
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

export const section: GeneratedSection = {
  file: 'docs/performance.md',
  name: 'performance',
  render() {
    const report = recorded()
    // blank lines around the content, as Prettier puts them after and before the markers
    return `\n${report === null ? NO_RUN : renderReport(report)}\n`
  },
}

/** Keeps `report` as the documented run and rewrites the section from it. */
export async function record(report: BenchReport): Promise<void> {
  await writeFile(RESULTS, JSON.stringify(report, null, 2) + '\n')
  await writeFile(path.join(ROOT, section.file), splice(await current(section), section))
}
