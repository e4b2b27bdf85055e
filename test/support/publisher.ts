/** The command-line tools (`npm run publisher`, `npm run consumer`) as child processes. */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const TOOLS = {
  publisher: fileURLToPath(new URL('../../src/publisher/main.js', import.meta.url)),
  consumer: fileURLToPath(new URL('../../src/consumer/main.js', import.meta.url)),
}

export interface Finished {
  code: number
  stdout: string
  stderr: string
}

/**
 * Starts a tool; `finished` collects its output. Asynchronous on purpose: the server it talks to
 * may run in this very process. `env` is added to this process's environment.
 */
export function startTool(
  tool: keyof typeof TOOLS,
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; finished: Promise<Finished>; stderr: () => string } {
  const child = spawn(process.execPath, [TOOLS[tool], ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const finished = once(child, 'exit').then(([code]) => ({ code: code as number, stdout, stderr }))
  return { child, finished, stderr: () => stderr }
}

export const runPublisher = (args: string[], env?: Record<string, string>) =>
  startTool('publisher', args, env).finished

export const runConsumer = (args: string[], env?: Record<string, string>) =>
  startTool('consumer', args, env).finished
