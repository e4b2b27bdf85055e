/**
 * Overlapping sends to replicas: every replica gets every key, in its own shuffled order and its
 * own batch size, so the same keys race across replicas and shards.
 */
import type { TestEvent } from './client.js'

/** The batches replica number `replica` (from 0) sends. */
export function overlappingBatches(keys: readonly TestEvent[], replica: number): TestEvent[][] {
  const seed = replica + 1
  const order = [...keys].sort((a, b) => hash(a, seed) - hash(b, seed))
  const size = 50 + replica * 17
  const batches: TestEvent[][] = []
  for (let i = 0; i < order.length; i += size) batches.push(order.slice(i, i + size))
  return batches
}

function hash(e: TestEvent, seed: number): number {
  let h = seed
  for (const c of e.event_id) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193)
  return h
}
