/** The `/stats` snapshot, from fake sources: what it says while a batch commits under it. */
import t from 'tap'
import pino from 'pino'
import type { CountersSummary } from '../../src/read-model.js'
import { EdgeCounters } from '../../src/stats/edge.js'
import { snapshot } from '../../src/stats/stats.js'

const summary = (unique: number): CountersSummary => ({
  unique,
  duplicates: 0,
  topicCount: 1,
  top: [],
  rejectedRequests: 0,
  rejectedEvents: 0,
})

t.test(
  'a batch that commits while the counters are read is never missing from received',
  async (t) => {
    // the read sees the counters from before the commit; the batch settles before the read returns
    let inFlight = 1
    const stats = await snapshot(
      {
        summary: async () => {
          inFlight = 0
          return summary(0)
        },
        inFlight: () => inFlight,
        shards: () => [],
      },
      new EdgeCounters(pino({ level: 'silent' })),
    )
    t.match(stats, { received: 1, unique_processed: 0, in_flight: 1 })
  },
)
