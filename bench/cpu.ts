/**
 * CPU time spent by processes, from /proc (Linux): user + system time of every thread, so an
 * aggregator's worker threads count, and a PostgreSQL server's backends are counted by walking
 * the postmaster's children. Null where /proc does not show the process (another OS, or a
 * database on another machine): the bench then reports no figure rather than a wrong one.
 */
import { readdir, readFile } from 'node:fs/promises'

/** /proc counts in clock ticks; Linux's USER_HZ is 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100

interface ProcStat {
  ppid: number
  /** utime + stime, in ticks. */
  ticks: number
}

async function procStat(pid: number): Promise<ProcStat | null> {
  let text: string
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // the command name (field 2) may hold spaces: fields are counted after its closing parenthesis
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) }
}

/** CPU seconds `pid` has used so far, or null when /proc does not show it. */
export async function cpuSeconds(pid: number): Promise<number | null> {
  const stat = await procStat(pid)
  return stat === null ? null : stat.ticks / TICKS_PER_SECOND
}

/**
 * CPU seconds used so far by the PostgreSQL server that runs backend `backendPid` (the postmaster
 * and all its children alive now), or null when /proc does not show it.
 */
export async function serverCpuSeconds(backendPid: number): Promise<number | null> {
  const backend = await procStat(backendPid)
  if (backend === null) return null
  const postmaster = backend.ppid
  let ticks = (await procStat(postmaster))?.ticks ?? 0
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = await procStat(Number(entry))
    if (stat?.ppid === postmaster) ticks += stat.ticks
  }
  return ticks / TICKS_PER_SECOND
}
