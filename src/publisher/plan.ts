/**
 * What the publisher will send, decided up front from a seed: unique events plus a share of
 * re-sent ones (same topic and event_id), each re-send placed at a random later point, so some
 * land in the same batch as their original and some far after it.
 */
export interface PlanOptions {
  events: number
  duplicates: number
  topics: number
  seed: number
  /** Distinguishes runs: the same seed and run id give the same keys. */
  runId: string
}

export interface PlannedEvent {
  topic: string
  event_id: string
  timestamp: string
  source: string
  payload: { content: string; metadata: { amount: number; sequence: number } }
}

export interface Plan {
  events: PlannedEvent[]
  unique: number
  resent: number
}

/** mulberry32: tiny, fast, and good enough to scatter duplicates repeatably. */
export function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function plan(options: PlanOptions): Plan {
  const rand = random(options.seed)
  const unique = Math.round(options.events * (1 - options.duplicates))
  const resent = options.events - unique
  const base = Date.UTC(2025, 9, 21, 10)
  const originals: PlannedEvent[] = Array.from({ length: unique }, (_, i) => ({
    topic: `publisher.topic-${i % options.topics}`,
    event_id: `${options.runId}-${i}`,
    timestamp: new Date(base + i * 1000).toISOString(),
    source: 'publisher',
    payload: {
      content: `Transaction ok for user ${Math.floor(rand() * 100_000)}`,
      metadata: { amount: Math.floor(rand() * 1_000_000), sequence: i },
    },
  }))
  // each event gets a position on a 0..unique line; a re-send sits after its original
  const slots = originals.map((event, i) => ({ at: i, event }))
  for (let r = 0; r < resent; r++) {
    const original = Math.floor(rand() * unique)
    slots.push({ at: original + rand() * (unique - original), event: originals[original]! })
  }
  slots.sort((a, b) => a.at - b.at)
  return { events: slots.map((s) => s.event), unique, resent }
}
