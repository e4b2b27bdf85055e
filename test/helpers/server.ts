/**
 * The aggregator as users run it: `node dist/src/main.js` in a child process, on 127.0.0.1 and a
 * free port (PORT=0, the bound port read from the start-up log line), stopped at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url))

export interface Server {
  url: string
  port: number
  child: ChildProcess
  /** Every JSON log line the server printed so far. */
  logs: Record<string, unknown>[]
  stderr: () => string
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export async function startServer(t: Test, env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: Record<string, unknown>[] = []
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  const port = await new Promise<number>((resolve, reject) => {
    let buffered = ''
    child.stdout!.on('data', (chunk: Buffer) => {
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
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    return exited
  }
  // a graceful stop, so the child writes its coverage; SIGKILL only if it hangs
  t.teardown(async () => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await stop('SIGTERM')
    clearTimeout(kill)
  })
  return { url: `http://127.0.0.1:${port}`, port, child, logs, stderr: () => stderr, stop }
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
