/**
 * The database's own ceiling for our events: the same rows written straight through the store
 * the aggregator uses (src/db/store.ts: for PostgreSQL, COPY + merge), over the same number of
 * connections, with no HTTP, no JSON, no validation and no worker threads. Rows are encoded
 * before the clock starts.
 */
import { connect } from '../src/db/connect.js'
import { per, treeCpu } from './cpu.js'
import { migrate } from '../src/db/migrate.js'
import { storeNamed } from '../src/db/store.js'
import { urlTarget } from '../src/db/target.js'
import { Workload } from './workload.js'

export interface LimitOptions {
  url: string
  connections: number
  events: number
  batchEvents: number
  duplicates: number
  seed: number
  /** The server's postmaster, whose processes' CPU is read (null: not on this machine). */
  postmaster: number | null
}

export interface LimitResult {
  events: number
  unique: number
  seconds: number
  eventsPerSecond: number
  /** µs of CPU per event: PostgreSQL's (the whole server) and this client's (encoding excluded). */
  cpu: { postgres: number | null; client: number | null }
}

export async function measureLimit(o: LimitOptions): Promise<LimitResult> {
  const target = urlTarget(o.url)
  const admin = connect(target, { max: 1, onnotice: () => {} })
  await migrate(admin)
  const store = storeNamed('postgres')
  const workload = new Workload({
    eventsPerRequest: 1,
    duplicates: o.duplicates,
    seed: o.seed,
    runId: `limit-${o.seed}`,
  })
  const batches: Buffer[] = []
  for (let done = 0; done < o.events; done += o.batchEvents) {
    const n = Math.min(o.batchEvents, o.events - done)
    const rows = workload.nextRecords(n).map((e) => store.row(1, e))
    batches.push(Buffer.from(rows.join('')))
  }
  const conns = Array.from({ length: o.connections }, (_, shard) =>
    store.connect({ target, writer: { instance: 'limit', shard }, connectTimeoutMs: 10_000 }),
  )
  let next = 0
  let unique = 0
  const pgBefore = o.postmaster === null ? null : await treeCpu(o.postmaster)
  const clientBefore = process.cpuUsage()
  const started = performance.now()
  await Promise.all(
    conns.map(async (conn) => {
      while (next < batches.length) {
        const { inserted } = await conn.write(batches[next++]!, false, { inDoubt: null })
        // flat pairs: part id, how many of its events were new
        for (let i = 1; i < inserted.length; i += 2) unique += inserted[i]!
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  const client = process.cpuUsage(clientBefore)
  const pgAfter = o.postmaster === null ? null : await treeCpu(o.postmaster)
  const cpu = {
    postgres: per(o.events, pgBefore, pgAfter),
    client: per(o.events, 0, client.user + client.system),
  }
  await Promise.all([...conns.map((conn) => conn.close()), admin.end({ timeout: 5 })])
  const eventsPerSecond = Math.round(o.events / seconds)
  return { events: o.events, unique, seconds, eventsPerSecond, cpu }
}
