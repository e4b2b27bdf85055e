/**
 * tap's `before` (.taprc): the run's PostgreSQL and its migrated template, ready before the first
 * test file starts (suite-postgres.ts). On `DATABASE_URL` when set; otherwise an embedded server
 * held by a detached keeper process, since this process must exit for the tests to begin.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, openSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { createTemplate, suiteFile, writeSuite } from './suite-postgres.js'

const KEEPER = fileURLToPath(new URL('./suite-keeper.js', import.meta.url))
const runner = process.ppid

const shared = process.env.DATABASE_URL
if (shared !== undefined && shared !== '') {
  const template = await createTemplate(shared, runner)
  await writeSuite({ url: shared, template, keeper: null }, runner)
} else {
  await startKeeper()
}

async function startKeeper(): Promise<void> {
  // its output goes to a file: the keeper outlives this process and tap's pipes
  const logFile = suiteFile(runner).replace(/\.json$/, '.log')
  const log = openSync(logFile, 'w')
  const keeper = spawn(process.execPath, [KEEPER, String(runner)], {
    detached: true,
    stdio: ['ignore', log, log, 'ipc'],
    env: withoutCoverage(process.env),
  })
  closeSync(log)
  const outcome = await Promise.race([
    once(keeper, 'message').then(() => 'ready' as const),
    once(keeper, 'exit').then(([code]) => `exited (${String(code)})`),
  ])
  const said = outcome === 'ready' ? '' : await readFile(logFile, 'utf8')
  await rm(logFile, { force: true })
  if (outcome !== 'ready') {
    throw new Error(`the test run's PostgreSQL did not start: its keeper ${outcome}\n${said}`)
  }
  keeper.disconnect()
  keeper.unref()
}

/**
 * tap measures coverage through NODE_OPTIONS and `_TAPJS_*` variables; the keeper runs past the
 * report and is no part of what the tests cover.
 */
function withoutCoverage(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([key]) => key !== 'NODE_OPTIONS' && key !== 'NODE_V8_COVERAGE' && !key.startsWith('_TAPJS_'),
    ),
  )
}
