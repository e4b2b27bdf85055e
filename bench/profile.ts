/**
 * Reads the `.cpuprofile` files node writes per thread and ranks functions by their share of
 * the busy time (idle samples left out) across all threads.
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'

export interface ProfileLine {
  thread: string
  fn: string
  share: number
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]
  samples: number[]
  timeDeltas: number[]
}

export async function summariseProfiles(dir: string, top = 25): Promise<ProfileLine[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort()
  const self = new Map<string, number>()
  let total = 0
  for (const [index, file] of files.entries()) {
    const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile
    // node names files CPU.<date>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread
    const thread = /\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(file)?.[1] === '0' ? 'main' : `w${index}`
    const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
    for (let i = 0; i < profile.samples.length; i++) {
      const frame = byId.get(profile.samples[i]!)!
      if (frame.functionName === '(idle)') continue
      const where = frame.url === '' ? '' : ` ${path.basename(frame.url)}:${frame.lineNumber + 1}`
      const key = `${thread}\t${frame.functionName || '(anonymous)'}${where}`
      const dt = profile.timeDeltas[i] ?? 0
      self.set(key, (self.get(key) ?? 0) + dt)
      total += dt
    }
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, us]) => {
      const [thread, fn] = key.split('\t') as [string, string]
      return { thread, fn, share: (us / total) * 100 }
    })
}
