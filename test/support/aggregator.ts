/**
 * The aggregator as a child process, as users run it (`node dist/src/main.js`): on 127.0.0.1,
 * PORT=0, the bound port read from its start-up log line. Shared by the tests and the benchmark.
 * Tests use it for what needs the real process: signals, exit codes, crashes, start-up lines;
 * everything else runs the app in-process (app.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { ConfigSchema } from '../../src/config.js'

export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url))

export interface Aggregator {
  url: string
  port: number
  child: ChildProcess
  /** Every JSON log line printed so far. */
  logs: Record<string, unknown>[]
  stderr(): string
  /** Peak resident memory of the whole process (all threads) so far, in MB. */
  peakRssMb(): Promise<number>
  /** Resolves with the exit code, once the process exits by itself or by a signal. */
  exited: Promise<number | null>
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * The environment a spawned aggregator inherits: this process's, minus every setting of the
 * aggregator's own (src/config.ts), so only what a test gives configures it. In the container
 * suite, the test service's DATABASE_URL would otherwise reach a test of the embedded server.
 */
function inherited(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const key of Object.keys(ConfigSchema.entries)) delete env[key]
  return env
}

export async function spawnAggregator(
  env: Record<string, string>,
  nodeArgs: string[] = [],
  script = MAIN,
  /** The Node binary: the one running the tests unless another runtime is under test. */
  node = process.execPath,
): Promise<Aggregator> {
  const child = spawn(node, [...nodeArgs, script], {
    // no load balancer to leave: a SIGTERM drains at once unless a test asks for the period
    env: {
      ...inherited(),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      SHUTDOWN_DRAIN_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: Record<string, unknown>[] = []
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = ''
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      let newline: number
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        const entry = JSON.parse(line) as Record<string, unknown>
        logs.push(entry)
        if (typeof entry.port === 'number' && String(entry.msg).startsWith('listening')) {
          resolve(entry.port)
        }
      }
    })
    void exited.then((code) => {
      const said = logs.map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? '')}`).join('\n')
      reject(new Error(`server exited (${code}) before listening:\n${said}\n${stderr}`))
    })
  })
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    logs,
    exited,
    stderr: () => stderr,
    async peakRssMb() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8')
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN)
      return Math.round(kb / 1024)
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/** A child aggregator for a test, stopped gracefully at its end. */
export async function startProcess(
  t: Test,
  env: Record<string, string>,
  script = MAIN,
  node = process.execPath,
): Promise<Aggregator> {
  const server = await spawnAggregator(env, [], script, node)
  // a graceful stop, so the child writes its coverage; SIGKILL only if it hangs
  t.teardown(async () => {
    const kill = setTimeout(() => server.child.kill('SIGKILL'), 15_000)
    await server.stop('SIGTERM')
    clearTimeout(kill)
  })
  return server
}

/** Longer than any refusal takes (an unreachable database is waited for DB_WAIT_MS). */
const RUN_TO_EXIT_MS = 60_000

/** Runs the aggregator expecting it to exit on its own (e.g. bad configuration). */
export async function runToExit(
  env: Record<string, string>,
  nodeArgs: string[] = [],
  node = process.execPath,
) {
  const child = spawn(node, [...nodeArgs, MAIN], {
    env: { ...inherited(), LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr.on('data', (c: Buffer) => (output += c.toString()))
  // one that serves instead of exiting is ended (exit code null), not left to the file's timeout
  const serving = setTimeout(() => child.kill('SIGKILL'), RUN_TO_EXIT_MS)
  const [code] = (await once(child, 'exit')) as [number | null]
  clearTimeout(serving)
  return { code, output }
}

/** The lines a child wrote that are not JSON log lines: what a person reads. */
export const plainLines = (output: string) =>
  output.split('\n').filter((line) => line !== '' && !line.startsWith('{'))
