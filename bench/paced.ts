/**
 * An open-loop load at a steady rate: requests leave on a fixed schedule whatever the answers
 * do, so latency is measured at that load. (autocannon's rate limit sends each second's quota
 * in one burst, which measures bursts at full speed instead.)
 *
 * `pacedInChild` runs it in a process of its own: the benchmark runner's heap (bodies prepared
 * for other scenarios) would otherwise pause the client's timers, and its pauses would be
 * counted as the server's latency.
 */
import { execFile } from 'node:child_process'
import { Agent, request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { latencySummary, type LoadResult } from './load.js'
import { Workload, type WorkloadOptions } from './workload.js'

export interface PacedOptions {
  url: string
  path: string
  rate: number
  durationS: number
  /**
   * Seconds at the same rate before measuring: a fresh server's first second (opening
   * connections, compiling hot code, workers connecting) is not its steady latency.
   */
  warmupS: number
}

const TICK_MS = 2

export async function paced(workload: Workload, o: PacedOptions): Promise<LoadResult> {
  const latencies: number[] = []
  let ok = 0
  let failed = 0
  const inFlight: Promise<void>[] = []
  // node:http with a keep-alive pool: fetch costs too much CPU per request to keep a schedule
  const agent = new Agent({ keepAlive: true, maxSockets: 256 })
  const target = new URL(o.path, o.url)
  const begun = performance.now()
  const cpuBefore = process.cpuUsage()
  const send = () =>
    new Promise<void>((resolve) => {
      const started = performance.now()
      const measured = started - begun >= o.warmupS * 1000
      const done = (good: boolean) => {
        if (good) ok++
        else failed++
        if (measured) latencies.push(performance.now() - started)
        resolve()
      }
      const req = request(
        target,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume()
          res.on('end', () => done(res.statusCode === 200 || res.statusCode === 202))
        },
      )
      req.on('error', () => done(false))
      req.end(workload.nextBody())
    })
  let sent = 0
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = (performance.now() - begun) / 1000
      if (elapsed >= o.warmupS + o.durationS) {
        clearInterval(timer)
        resolve()
        return
      }
      // catch up to the schedule: rate × elapsed requests should have left by now
      for (; sent < o.rate * elapsed; sent++) inFlight.push(send())
    }, TICK_MS)
  })
  await Promise.all(inFlight)
  agent.destroy()
  const seconds = (performance.now() - begun) / 1000
  const used = process.cpuUsage(cpuBefore)
  return {
    requests: ok + failed,
    ok,
    failed,
    requestsPerSecond: Math.round((ok + failed) / seconds),
    latencyMs: latencySummary(latencies),
    seconds,
    generatorCpuUs: used.user + used.system,
  }
}

export interface PacedRun {
  result: LoadResult
  /** The workload's own counts, for the exactness check. */
  events: number
  unique: number
}

export async function pacedInChild(workload: WorkloadOptions, o: PacedOptions): Promise<PacedRun> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [fileURLToPath(import.meta.url), JSON.stringify({ workload, options: o })],
    { maxBuffer: 1024 * 1024 },
  )
  return JSON.parse(stdout) as PacedRun
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { workload: settings, options } = JSON.parse(process.argv[2]!) as {
    workload: WorkloadOptions
    options: PacedOptions
  }
  const workload = new Workload(settings)
  const result = await paced(workload, options)
  const run: PacedRun = { result, events: workload.events, unique: workload.unique }
  process.stdout.write(JSON.stringify(run))
}
