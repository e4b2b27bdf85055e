/**
 * The load generator that costs little: wrk (C, one event loop per thread) with bench/wrk.lua,
 * which sends each body of a file once. Installed with apt-get when missing and this process may
 * (root, a Debian-like system); otherwise the bench falls back to autocannon. Its own CPU is read
 * from `/proc` once every request is answered, before it is stopped.
 */
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { finished } from 'node:stream/promises'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { processCpu } from './cpu.js'
import type { LoadResult } from './load.js'
import { tempDir } from '../test/support/postgres.js'
import type { Workload } from './workload.js'

const SCRIPT = fileURLToPath(new URL('../../bench/wrk.lua', import.meta.url))

const has = (command: string) => spawnSync(command, ['--version']).error === undefined

/** Whether wrk can be used, installing it first when it is missing and that is allowed. */
export function ensureWrk(say: (line: string) => void): boolean {
  if (has('wrk')) return true
  if (process.getuid?.() !== 0 || !has('apt-get')) return false
  say('installing wrk (apt-get install wrk)')
  const install = () => spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: 'ignore' })
  if (install().status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore' })
    install()
  }
  return has('wrk')
}

export interface WrkOptions {
  url: string
  path: string
  connections: number
  requests: number
  /** Threads of wrk: its own CPU is small, one per core it may take is plenty. */
  threads: number
  /** Gives up waiting for answers after this long (a lost request never completes). */
  timeoutS: number
}

/** Sends `requests` bodies of the workload, each once; resolves when every one is answered. */
export async function wrkLoad(workload: Workload, o: WrkOptions): Promise<LoadResult> {
  const dir = await tempDir('wrk')
  try {
    const bodies = path.join(dir, 'bodies')
    await writeBodies(workload, o.requests, bodies)
    const threads = Math.max(1, Math.min(o.threads, o.requests, o.connections))
    const child = spawn(
      'wrk',
      [
        `--threads=${threads}`,
        `--connections=${Math.max(threads, o.connections)}`,
        // ended by SIGINT once every thread is answered; this is only the upper bound
        `--duration=${o.timeoutS}s`,
        `--timeout=${o.timeoutS}s`,
        `--script=${SCRIPT}`,
        new URL(o.path, o.url).toString(),
        '--',
        bodies,
        String(threads),
        'application/json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    let answered = 0
    let cpuUs: number | null = null
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject)
      child.once('exit', resolve)
    })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    await new Promise<void>((resolve) => {
      const stop = () => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(stop, o.timeoutS * 1000)
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        answered = output.split('wrk-finished\n').length - 1
        if (answered === threads) stop()
      })
      void exited.then(stop)
    })
    if (child.pid !== undefined) cpuUs = await processCpu(child.pid)
    child.kill('SIGINT')
    const code = await exited
    const line = /^wrk-result (.*)$/m.exec(output)?.[1]
    if (line === undefined) {
      throw new Error(`wrk ended (${code}) without a result:\n${output}\n${stderr}`)
    }
    const r = JSON.parse(line) as WrkResult
    const ms = (us: number) => Math.round(us / 1000)
    return {
      requests: o.requests,
      ok: r.ok,
      failed: o.requests - r.ok,
      requestsPerSecond: Math.round(r.answered / (r.durationUs / 1e6)),
      latencyMs: { p50: ms(r.p50), p99: ms(r.p99), max: ms(r.max) },
      seconds: r.durationUs / 1e6,
      generatorCpuUs: cpuUs,
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

interface WrkResult {
  answered: number
  ok: number
  durationUs: number
  p50: number
  p99: number
  max: number
}

/** One body per line: JSON as the workload writes it has no raw newline. */
async function writeBodies(workload: Workload, requests: number, file: string): Promise<void> {
  const out = createWriteStream(file)
  for (let i = 0; i < requests; i++) {
    if (!out.write(workload.nextBody())) await once(out, 'drain')
    out.write('\n')
  }
  out.end()
  await finished(out)
}
