/** An aggregator's `/stats`, as the benches read it to know what the store holds. */
import type { Stats } from '../src/stats/stats.js'

export async function stats(url: string): Promise<Stats> {
  return (await (await fetch(`${url}/stats`)).json()) as Stats
}

/** `/stats` once nothing is in flight; throws if that takes longer than `timeoutMs`. */
export async function drained(url: string, timeoutMs = 300_000): Promise<Stats> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const s = await stats(url)
    if (s.in_flight === 0) return s
    if (Date.now() > deadline) {
      throw new Error(`${s.in_flight} events still in flight after ${timeoutMs / 1000} s`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}
