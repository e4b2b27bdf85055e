/** The aggregator for a test: a child process on a free port, stopped gracefully at the end. */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import type { Test } from 'tap'
import { MAIN, spawnAggregator, type Aggregator } from '../../bench/aggregator.js'

export type Server = Aggregator

export async function startServer(t: Test, env: Record<string, string>): Promise<Server> {
  const server = await spawnAggregator(env)
  // a graceful stop, so the child writes its coverage; SIGKILL only if it hangs
  t.teardown(async () => {
    const kill = setTimeout(() => server.child.kill('SIGKILL'), 15_000)
    await server.stop('SIGTERM')
    clearTimeout(kill)
  })
  return server
}

/** Runs the aggregator expecting it to exit on its own (e.g. bad configuration). */
export async function runToExit(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, output }
}
