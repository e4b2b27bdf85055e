/**
 * A test file's own database: a copy of the run's migrated template (suite-postgres.ts) on the
 * run's server, over TCP as `DATABASE_URL` gives it to the app, dropped when the file ends.
 */
import fs from 'node:fs/promises'
import postgres from 'postgres'
import type { Test } from 'tap'
import { tempDir as makeTempDir } from './postgres.js'
import { copyTemplate, dropDatabase, readSuite } from './suite-postgres.js'

export interface TestDatabase {
  url: string
  sql: postgres.Sql
}

export async function testDatabase(t: Test): Promise<TestDatabase> {
  const suite = await readSuite()
  if (suite === null) {
    throw new Error(
      'no PostgreSQL for this test run: run test files with tap (npx tap dist/test/<name>.test.js), whose `before` (.taprc) starts it',
    )
  }
  const name = `agg_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const url = await copyTemplate(suite, name)
  const sql = postgres(url, { max: 2, onnotice: () => {} })
  t.teardown(async () => {
    await sql.end({ timeout: 5 })
    await dropDatabase(suite.url, name)
  })
  return { url, sql }
}

/** A folder the `postgres` system user can reach, removed after the test. */
export async function tempDir(t: Test, prefix: string): Promise<string> {
  const dir = await makeTempDir(prefix)
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }))
  return dir
}

/** Stored events, optionally for one topic: what the database says, not the API. */
export async function storedEvents(sql: postgres.Sql, topic?: string): Promise<number> {
  const rows = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM events
    WHERE ${topic ?? null}::text IS NULL OR topic = ${topic ?? null}`
  return rows[0]!.n
}
