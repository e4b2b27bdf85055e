/** The machine a bench ran on, kept with its figures. */
import os from 'node:os'

export interface Machine {
  cpus: number
  model: string
  memoryGb: number
  node: string
  platform: string
}

export function machine(): Machine {
  return {
    cpus: os.availableParallelism(),
    model: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  }
}

/** Shards for an aggregator under bench: one per core, at most four. */
export const benchShards = () => Math.max(1, Math.min(4, os.availableParallelism()))
