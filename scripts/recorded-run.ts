/**
 * A generated section of the docs rendered from a recorded bench run: the run is kept as JSON next
 * to the page, so the page's numbers are always those of a recorded run, with the machine it ran
 * on, and `npm run docs` renders the same text from the same file.
 */
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { current, ROOT, splice, type GeneratedSection } from './generated-docs.js'

export interface RecordedRun<Report> {
  section: GeneratedSection
  /** Keeps `report` as the documented run and rewrites the section from it. */
  record: (report: Report) => Promise<void>
}

export function recordedRun<Report>(o: {
  /** Markdown file and section name, as in GeneratedSection. */
  file: string
  name: string
  /** Where the run is kept, relative to the repository root. */
  json: string
  render: (report: Report) => string
  /** What the section says before any run is recorded. */
  noRun: string
}): RecordedRun<Report> {
  const results = path.join(ROOT, o.json)
  const recorded = (): Report | null => {
    try {
      return JSON.parse(readFileSync(results, 'utf8')) as Report
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw error
    }
  }
  const section: GeneratedSection = {
    file: o.file,
    name: o.name,
    render() {
      const report = recorded()
      // blank lines around the content, as Prettier puts them after and before the markers
      return `\n${report === null ? o.noRun : o.render(report)}\n`
    },
  }
  return {
    section,
    record: async (report) => {
      await writeFile(results, JSON.stringify(report, null, 2) + '\n')
      await writeFile(path.join(ROOT, section.file), splice(await current(section), section))
    },
  }
}
