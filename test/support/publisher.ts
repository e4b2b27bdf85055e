/** The publisher CLI (`npm run publisher`) as a child process, its output collected. */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const PUBLISHER = fileURLToPath(new URL('../../src/publisher/main.js', import.meta.url))

/** Asynchronous on purpose: the server it talks to may run in this very process. */
export async function runPublisher(args: string[]) {
  const child = spawn(process.execPath, [PUBLISHER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const [code] = (await once(child, 'exit')) as [number]
  return { code, stdout, stderr }
}
