/**
 * The database's own ceiling for our events: the same rows loaded straight into PostgreSQL with
 * the aggregator's COPY + merge (src/db/merge.ts), over the same number of connections, with no
 * HTTP, no JSON and no validation. Rows are encoded before the clock starts.
 */
import { stagingRow } from '../src/db/copy-text.js'
import { connect } from '../src/db/connect.js'
import { createStaging, mergeBatch } from '../src/db/merge.js'
import { migrate } from '../src/db/migrate.js'
import { urlTarget } from '../src/db/target.js'
import type { Event } from '../src/ingest/event.js'
import { Workload } from './workload.js'

export interface LimitOptions {
  url: string
  connections: number
  events: number
  batchEvents: number
  duplicates: number
  seed: number
}

export interface LimitResult {
  events: number
  unique: number
  seconds: number
  eventsPerSecond: number
}

export async function measureLimit(o: LimitOptions): Promise<LimitResult> {
  const target = urlTarget(o.url)
  const admin = connect(target, { max: 1, onnotice: () => {} })
  await migrate(admin)
  const workload = new Workload({
    eventsPerRequest: 1,
    duplicates: o.duplicates,
    seed: o.seed,
    runId: `limit-${o.seed}`,
  })
  const batches: Buffer[] = []
  for (let done = 0; done < o.events; done += o.batchEvents) {
    const n = Math.min(o.batchEvents, o.events - done)
    const rows = workload.nextEvents(n).map((e) => stagingRow(1, e as unknown as Event))
    batches.push(Buffer.from(rows.join('')))
  }
  const conns = Array.from({ length: o.connections }, () =>
    connect(target, { max: 1, onnotice: () => {} }),
  )
  await Promise.all(conns.map((sql) => createStaging(sql)))
  let next = 0
  let unique = 0
  const started = performance.now()
  await Promise.all(
    conns.map(async (sql, shard) => {
      while (next < batches.length) {
        const rows = batches[next++]!
        const outcome = await mergeBatch(sql, rows, { instance: 'limit', shard }, false)
        for (const o of outcome) unique += o.stored
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  await Promise.all([...conns, admin].map((sql) => sql.end({ timeout: 5 })))
  return { events: o.events, unique, seconds, eventsPerSecond: Math.round(o.events / seconds) }
}
