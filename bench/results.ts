/**
 * Every full bench run is kept in bench/results/ (not committed), named by when it started, and
 * with `--write-doc` recorded in docs/ too: what both bench commands do with a finished run.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { UsageError } from '../src/cli/command.js'

const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url))

/** Writes `report` as bench/results/<prefix><startedAt>.json; returns the path, from the cwd. */
async function keepResults(prefix: string, report: { startedAt: string }): Promise<string> {
  await mkdir(RESULTS, { recursive: true })
  const file = path.join(RESULTS, `${prefix}${report.startedAt.replace(/[:.]/g, '-')}.json`)
  await writeFile(file, JSON.stringify(report, null, 2))
  return path.relative(process.cwd(), file)
}

/** How a bench command keeps, prints and records its runs. */
export interface Recording<R> {
  /** The command, for messages: `bench`, `bench:subscribers`. */
  command: string
  /** Starts the kept file's name. */
  prefix: string
  render(report: R): string
  /** Writes the run into docs/; `docs` names what it rewrites. */
  record(report: R): Promise<void>
  docs: string
}

/** `--write-doc` records real measurements: a quick run's are not, so the pair is refused. */
export function refuseQuickRecord(quick: boolean, writeDoc: boolean): void {
  if (quick && writeDoc)
    throw new UsageError('--write-doc records real measurements; --quick has none')
}

/** Keeps `report`, prints it, and with `writeDoc` records it in docs/. */
export async function finishRun<R extends { startedAt: string }>(
  recording: Recording<R>,
  report: R,
  writeDoc: boolean,
): Promise<void> {
  const file = await keepResults(recording.prefix, report)
  process.stdout.write(recording.render(report))
  process.stdout.write(`\nresults: ${file}\n`)
  if (writeDoc) {
    await recording.record(report)
    process.stdout.write(`${recording.docs} rewritten\n`)
  }
}
