/** Every full bench run is kept in bench/results/ (not committed), named by when it started. */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url))

/** Writes `report` as bench/results/<prefix><startedAt>.json; returns the path, from the cwd. */
export async function keepResults(prefix: string, report: { startedAt: string }): Promise<string> {
  await mkdir(RESULTS, { recursive: true })
  const file = path.join(RESULTS, `${prefix}${report.startedAt.replace(/[:.]/g, '-')}.json`)
  await writeFile(file, JSON.stringify(report, null, 2))
  return path.relative(process.cwd(), file)
}
