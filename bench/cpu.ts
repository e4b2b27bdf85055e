/**
 * CPU time from `/proc`, per process and per thread, sampled just before and just after a
 * measured load. On a machine shared with other work, events/s mostly measures who else ran;
 * the CPU each side spends per event does not, and it is what decides throughput anywhere.
 *
 * - the aggregator: its main thread (the task whose id is the process id) and everything else
 *   (worker threads, GC and libuv helpers; the process's total includes threads that exited);
 * - PostgreSQL: every process of the server, i.e. the postmaster, its live children (backends,
 *   walwriter, checkpointer…) and, through the postmaster's `cutime`/`cstime`, the children it
 *   already reaped (a backend whose connection closed during the run);
 * - a load generator in a process of its own (wrk), the same way as a process.
 *
 * Ticks are 1/100 s: over a run of a few seconds of CPU, well under 1%. Where `/proc` is not
 * there (another OS, a database in another container), the figures are absent, never made up.
 */
import { readdir, readFile } from 'node:fs/promises'

/** Clock ticks per second as `/proc` counts them (USER_HZ, 100 on every Linux build we run on). */
const TICK_US = 10_000

/** CPU time in µs, user + system. */
export interface ThreadsCpu {
  /** The process's main thread. */
  main: number
  /** All its other threads, those that exited included. */
  others: number
}

/** Fields of `/proc/<pid>/stat` after the command (which may hold spaces and parentheses). */
async function statFields(path: string): Promise<string[] | null> {
  try {
    const text = await readFile(path, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

// indices in `statFields`: field number (man 5 proc) − 3
const PPID = 1
const UTIME = 11
const STIME = 12
const CUTIME = 13
const CSTIME = 14

const ticks = (fields: string[], ...at: number[]) =>
  at.reduce((sum, i) => sum + Number(fields[i]), 0) * TICK_US

/** A process's CPU time, its own threads only; null once it is gone. */
export async function processCpu(pid: number): Promise<number | null> {
  const fields = await statFields(`/proc/${pid}/stat`)
  return fields === null ? null : ticks(fields, UTIME, STIME)
}

/** A process's main thread and the rest; null when `/proc` does not show it. */
export async function threadsCpu(pid: number): Promise<ThreadsCpu | null> {
  const [all, main] = await Promise.all([
    statFields(`/proc/${pid}/stat`),
    statFields(`/proc/${pid}/task/${pid}/stat`),
  ])
  if (all === null || main === null) return null
  const mainUs = ticks(main, UTIME, STIME)
  return { main: mainUs, others: ticks(all, UTIME, STIME) - mainUs }
}

/**
 * Every process of the server whose postmaster is `postmaster`: itself, its reaped children
 * (`cutime`/`cstime`) and its live descendants with theirs.
 */
export async function treeCpu(postmaster: number): Promise<number | null> {
  const root = await statFields(`/proc/${postmaster}/stat`)
  if (root === null) return null
  const parents = new Map<number, number>()
  const own = new Map<number, number>()
  await Promise.all(
    (await readdir('/proc')).map(async (entry) => {
      if (!/^\d+$/.test(entry)) return
      const fields = await statFields(`/proc/${entry}/stat`)
      if (fields === null) return
      parents.set(Number(entry), Number(fields[PPID]))
      own.set(Number(entry), ticks(fields, UTIME, STIME, CUTIME, CSTIME))
    }),
  )
  let total = ticks(root, UTIME, STIME, CUTIME, CSTIME)
  for (const [pid, cpu] of own) {
    if (pid !== postmaster && descends(pid, postmaster, parents)) total += cpu
  }
  return total
}

function descends(pid: number, ancestor: number, parents: Map<number, number>): boolean {
  for (let at = parents.get(pid); at !== undefined && at > 1; at = parents.get(at)) {
    if (at === ancestor) return true
  }
  return false
}

/** What one measured load cost, in µs of CPU per event (per request for the load generator). */
export interface CpuPerEvent {
  aggregatorMain: number | null
  aggregatorOthers: number | null
  postgres: number | null
  /** The load generator's own cost per request it sent, and which one it was. */
  generator: { name: string; perRequest: number | null } | null
}

/** The processes to sample around a load. */
export interface CpuProbe {
  aggregator: number | null
  postmaster: number | null
}

export interface CpuSample {
  aggregator: ThreadsCpu | null
  postgres: number | null
}

export async function sample(probe: CpuProbe): Promise<CpuSample> {
  const [aggregator, postgres] = await Promise.all([
    probe.aggregator === null ? null : threadsCpu(probe.aggregator),
    probe.postmaster === null ? null : treeCpu(probe.postmaster),
  ])
  return { aggregator, postgres }
}

/** µs per unit between two samples; null when either side is unknown or nothing was done. */
export function per(
  units: number,
  before: number | null | undefined,
  after: number | null | undefined,
): number | null {
  if (before == null || after == null || units <= 0) return null
  return Math.round(((after - before) / units) * 10) / 10
}

export function perEvent(
  events: number,
  before: CpuSample,
  after: CpuSample,
  generator: CpuPerEvent['generator'],
): CpuPerEvent {
  return {
    aggregatorMain: per(events, before.aggregator?.main, after.aggregator?.main),
    aggregatorOthers: per(events, before.aggregator?.others, after.aggregator?.others),
    postgres: per(events, before.postgres, after.postgres),
    generator,
  }
}

/**
 * The postmaster of the server `sql` is connected to: the parent of its backend, if that backend
 * runs on this machine (a server in a container or elsewhere gives null).
 */
export async function postmasterOf(backendPid: number): Promise<number | null> {
  const fields = await statFields(`/proc/${backendPid}/stat`)
  if (fields === null) return null
  const parent = Number(fields[PPID])
  // a backend's parent is the postmaster, which runs `postgres` too
  const comm = await readFile(`/proc/${parent}/comm`, 'utf8').catch(() => '')
  return comm.trim() === 'postgres' ? parent : null
}
