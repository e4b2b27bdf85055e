/**
 * The test run's PostgreSQL: one server for every test file, and one migrated template database
 * that each file copies into a database of its own (`CREATE DATABASE … TEMPLATE`, as
 * graphile-worker's tests do). A file gets a fresh, migrated database in a fraction of a second
 * instead of booting a server.
 *
 *   tap runner ─ before: suite-start.js ─ spawns ─▶ suite-keeper.js (detached, owns the server)
 *     ├─ each test file: reads the run's file, copies the template (database.ts)
 *     └─ after: suite-stop.js ─ removes the run's file; the keeper stops the server and exits
 *
 * The run's file, in the temporary folder, is named after the checkout and the tap runner's pid:
 * the runner is the parent of `before`, `after` and every test file, so they all find it, and
 * two runs (from one checkout or two) never share a server. With `DATABASE_URL` set that server
 * is used instead: no keeper, only the template is made there and dropped afterwards.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import { migrate } from '../../src/db/migrate.js'
import { databaseUrl } from './postgres.js'

export interface Suite {
  /** Where databases are created and dropped from. */
  url: string
  /** The migrated database every test file's database is a copy of. */
  template: string
  /** The process holding the embedded server; null for a server given by `DATABASE_URL`. */
  keeper: number | null
}

const CHECKOUT = fileURLToPath(new URL('../../..', import.meta.url))

/** The run's file; `runner` is the tap process, the parent of every process of the run. */
export function suiteFile(runner = process.ppid): string {
  const checkout = createHash('sha256').update(CHECKOUT).digest('hex').slice(0, 12)
  return path.join(os.tmpdir(), `agg-test-postgres-${checkout}-${runner}.json`)
}

export async function readSuite(runner = process.ppid): Promise<Suite | null> {
  const text = await fs.readFile(suiteFile(runner), 'utf8').catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  })
  return text === null ? null : (JSON.parse(text) as Suite)
}

/** Written whole or not at all: a test file never reads half of it. */
export async function writeSuite(suite: Suite, runner: number): Promise<void> {
  const file = suiteFile(runner)
  await fs.writeFile(`${file}.tmp`, JSON.stringify(suite))
  await fs.rename(`${file}.tmp`, file)
}

export async function removeSuite(runner: number): Promise<void> {
  await fs.rm(suiteFile(runner), { force: true })
}

/** Creates the run's template on the server at `url` and migrates it with the app's migrations. */
export async function createTemplate(url: string, runner: number): Promise<string> {
  const name = `agg_template_${runner}`
  await withConnection(url, async (sql) => {
    await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await sql.unsafe(`CREATE DATABASE ${name}`)
  })
  // closed before any copy: PostgreSQL copies only a database nobody is connected to
  await withConnection(databaseUrl(url, name), migrate)
  return name
}

/** A new database copied from the run's template; returns its URL. */
export async function copyTemplate(suite: Suite, name: string): Promise<string> {
  await withConnection(suite.url, (sql) =>
    sql.unsafe(`CREATE DATABASE ${name} TEMPLATE ${suite.template}`),
  )
  return databaseUrl(suite.url, name)
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  await withConnection(url, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
}

/** One connection for one job, closed after it: a template is copied only when unused. */
async function withConnection<T>(url: string, run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    return await run(sql)
  } finally {
    await sql.end({ timeout: 5 })
  }
}
