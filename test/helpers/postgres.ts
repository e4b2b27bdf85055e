/**
 * A real PostgreSQL for a test file: an embedded server on 127.0.0.1 (or `DATABASE_URL`), with a
 * fresh database per file, so the app's `DATABASE_URL` path (TCP + noDelay) runs in every test.
 */
import fs from 'node:fs/promises'
import postgres from 'postgres'
import type { Test } from 'tap'
import { startPostgres, tempDir as makeTempDir } from '../../bench/postgres.js'

export interface TestDatabase {
  url: string
  sql: postgres.Sql
}

export async function testDatabase(t: Test): Promise<TestDatabase> {
  const server = await startPostgres()
  const name = `agg_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const url = await server.createDatabase(name)
  const sql = postgres(url, { max: 2, onnotice: () => {} })
  t.teardown(async () => {
    await sql.end({ timeout: 5 })
    await server.dropDatabase(name)
    await server.stop()
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
