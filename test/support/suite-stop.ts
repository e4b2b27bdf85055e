/**
 * tap's `after` (.taprc), run when every test file has ended, passed or failed: ends the run's
 * PostgreSQL (suite-postgres.ts) and returns only once the embedded server is gone, so `npm test`
 * leaves no server running. On a `DATABASE_URL` server only the template is dropped.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { dropDatabase, readSuite, removeSuite } from './suite-postgres.js'

const STOP_TIMEOUT_MS = 60_000
const runner = process.ppid

const suite = await readSuite(runner)
if (suite !== null) {
  // the keeper watches for this file: its removal is the signal to stop
  await removeSuite(runner)
  if (suite.keeper === null) await dropDatabase(suite.url, suite.template)
  else await exited(suite.keeper)
}

async function exited(pid: number): Promise<void> {
  for (let waited = 0; waited < STOP_TIMEOUT_MS; waited += 100) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    await sleep(100)
  }
  throw new Error(`the test run's PostgreSQL keeper (pid ${pid}) did not stop; stop it by hand`)
}
