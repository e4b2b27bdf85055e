/**
 * Composition root: database → shards → HTTP, and the shutdown order in reverse. The process
 * entry (signals, exit codes) is main.ts; tests start the app in-process from here.
 *
 *   client ─POST─▶ HttpServer ─body─▶ Ingestor (JSON.parse + valibot)
 *                                        │ events split by hash(topic, event_id)
 *                                        ▼
 *                  Shard 0 … Shard N-1   (main-thread queue, group commit)
 *                                        │ one UTF-8 buffer of store rows per batch
 *                                        ▼
 *                  worker thread per shard ─▶ PostgreSQL: COPY staging → merge → counters
 */
import type { Config } from './config.js'
import type { Notice } from 'postgres'
import { connect, type Sql } from './db/connect.js'
import { startEmbedded, type Embedded } from './db/embedded.js'
import { migrate } from './db/migrate.js'
import { ping, readSummary, readTopicTotals, readTopics } from './db/read.js'
import { saveRejections } from './db/rejections.js'
import { rollUpCounters } from './db/rollup.js'
import { storeNamed } from './db/store.js'
import { describeTarget, urlTarget, type DbTarget } from './db/target.js'
import { waitForDatabase } from './db/wait.js'
import { Commits } from './feed/commits.js'
import { feedReader } from './feed/feed.js'
import { requireXidsAhead } from './feed/restored.js'
import type { HubCounts } from './feed/hub.js'
import { Tokens } from './http/auth.js'
import { BodyBudget } from './http/budget.js'
import { Origins } from './http/origin.js'
import { checkPort } from './http/port.js'
import { HttpServer } from './http/server.js'
import { Ingestor } from './ingest/ingestor.js'
import type { Logger } from './log.js'
import { Shards } from './pipeline/shards.js'
import { Metrics } from './stats/metrics.js'
import { EdgeCounters } from './stats/edge.js'
import { SharedSnapshot } from './stats/shared-snapshot.js'
import { snapshot } from './stats/stats.js'
import { readVitals } from './stats/vitals.js'
import { TopicActivity } from './dashboard/topic-activity.js'
import { loadUws } from './uws.js'
import { VERSION } from './version.js'

/** `/stats`, `/live` and start-up share one snapshot, read at most this often while unchanged. */
const SNAPSHOT_MAX_AGE_MS = 1000
/** Refusal counts are saved this often (and at shutdown): a crash loses at most this much. */
const SAVE_REFUSALS_MS = 1000

export interface Running {
  port: number
  /**
   * Drains and stops. With `rotationDrainMs`, first leaves the load balancer's rotation for that
   * long: `/readyz` answers 503 while every request is still served.
   */
  stop(rotationDrainMs?: number): Promise<void>
}

export async function start(config: Config, log: Logger): Promise<Running> {
  const uws = loadUws(config.UWS_FALLBACK)
  if (uws.fallback !== null) {
    log.warn(
      { uws: uws.source },
      `SLOW: serving on the pure-JS fallback server (UWS_FALLBACK=allow) because ${uws.fallback}. It is many times slower than native uWebSockets.js and has no WebSocket: the dashboard's live view (/live) is off. For development only`,
    )
  }
  // a busy port fails in a moment, before a database is started for nothing
  await checkPort(config.HOST, config.PORT)
  let embedded: Embedded | null = null
  let target: DbTarget
  if (config.DATABASE_URL !== undefined) {
    target = urlTarget(config.DATABASE_URL)
  } else {
    embedded = await startEmbedded(config.dataDir, log)
    target = embedded.target
  }
  const onnotice = (notice: Notice) => log.warn({ notice: notice.message }, 'postgres notice')
  const connectTimeoutS = Math.ceil(config.DB_TIMEOUT_MS / 1000)
  // start-up work (migrations, the counters fold): statements as long as they need
  const sql = connect(target, { max: 2, connectTimeoutS, onnotice })
  // while serving (reads, refusal counts): a slow statement is cancelled by the server instead of
  // holding a connection, or the snapshot that waits for it
  const serving = connect(target, {
    max: 4,
    connectTimeoutS,
    onnotice,
    statementTimeoutMs: config.DB_TIMEOUT_MS,
  })
  // /readyz on its own connection: busy reads never make a healthy replica look down
  const probe = connect(target, { max: 1, connectTimeoutS, onnotice, statementTimeoutMs: 2000 })
  const clients = [sql, serving, probe]
  // on its own connection (postgres.js opens one per client for LISTEN)
  const commits = new Commits(serving, config.instanceId, log)
  let saving: NodeJS.Timeout | undefined
  try {
    await waitForDatabase(sql, describeTarget(target, embedded !== null), config.DB_WAIT_MS, log)
    const applied = await migrate(sql)
    await requireXidsAhead(sql)
    await commits.listen()
    const folded = await rollUpCounters(sql, config.instanceId)
    const edge = new EdgeCounters(log)
    // read at scrape time, when `shards` exists; only batch latencies are pushed as they happen
    const ready = () => readiness(probe, shards, config.DB_TIMEOUT_MS)
    const metrics = new Metrics({
      shards: () => shards.stats(),
      inFlight: () => shards.inFlight,
      edge,
      version: VERSION,
      queueFill: () => shards.fill,
      databaseUp: () => ready().then(({ checks }) => checks.database),
      streams: (): HubCounts => server.hub.counts,
    })
    const activity = new TopicActivity()
    const shards = new Shards({
      onBatch: (report) => {
        metrics.batch(report)
        if (report.unique > 0) commits.committed()
        activity.batch(report)
      },
      store: storeNamed(config.STORE),
      shards: config.SHARDS,
      batchMaxEvents: config.BATCH_MAX_EVENTS,
      batchMaxBytes: config.BATCH_MAX_BYTES,
      flushIntervalMs: config.FLUSH_INTERVAL_MS,
      queueMaxEvents: config.QUEUE_MAX_EVENTS,
      queueMaxBytes: config.QUEUE_MAX_BYTES,
      worker: {
        target,
        instanceId: config.instanceId,
        attemptTimeoutMs: config.DB_TIMEOUT_MS,
        retryMs: config.DB_RETRY_MS,
      },
      log,
    })
    const shared = new SharedSnapshot(
      () =>
        edge.exclusive(() =>
          snapshot(
            {
              summary: (top) => readSummary(serving, top),
              inFlight: () => shards.inFlight,
              shards: () => shards.stats(),
            },
            edge,
          ),
        ),
      // anything this process counts: admitted, committed or failed batches, refusals
      () =>
        shards
          .stats()
          .reduce((n, s) => n + s.batches + s.failed_batches, edge.accepted + edge.refusals),
      SNAPSHOT_MAX_AGE_MS,
    )
    const stats = () => shared.get()
    const save = () =>
      edge
        .saveRefusals((byReason) => saveRejections(serving, config.instanceId, byReason))
        .catch((error: unknown) => log.warn({ err: error }, 'refusal counts not saved yet'))
    saving = setInterval(() => void save(), SAVE_REFUSALS_MS).unref()
    const loaded = await stats()
    const ingestor = new Ingestor(
      shards,
      edge,
      config.MAX_EVENTS_PER_REQUEST,
      config.ACK_TIMEOUT_MS,
    )
    const server = new HttpServer(
      uws,
      {
        full: () => shards.full,
        publish: (body, format, ack) => ingestor.publish(body, format, ack),
        feed: feedReader(serving),
        commits,
        stats,
        workers: () => shards.stats(),
        topics: (query) => readTopics(serving, query),
        ready,
        topicTotals: (topics) => readTopicTotals(serving, topics),
        vitals: () =>
          readVitals({
            edge,
            shards,
            metrics,
            limits: {
              queueMaxEvents: config.QUEUE_MAX_EVENTS,
              queueMaxBytes: config.QUEUE_MAX_BYTES,
            },
          }),
        activity,
      },
      {
        host: config.HOST,
        port: config.PORT,
        bodyLimitBytes: config.BODY_LIMIT_BYTES,
        bodyTimeoutMs: config.BODY_TIMEOUT_MS,
        bodyBudget: new BodyBudget(config.bodyBudgetBytes),
        subscribersMax: config.SUBSCRIBERS_MAX,
        subscriberBufferBytes: config.SUBSCRIBER_BUFFER_BYTES,
        heartbeatMs: config.SSE_HEARTBEAT_MS,
        ackMode: config.ACK_MODE,
        pageMaxBytes: config.PAGE_MAX_BYTES,
        tokens: new Tokens(config.AUTH_TOKENS ?? []),
        authRead: config.AUTH_READ,
        origins: new Origins(config.ALLOWED_ORIGINS ?? []),
        metrics,
        version: VERSION,
        log,
      },
    )
    const port = await server.listen()
    const base = httpBase(config.HOST, port)
    const counts = `${loaded.unique_processed} events, ${loaded.duplicate_dropped} duplicates`
    const storage =
      embedded === null
        ? `database ${describeTarget(target)}: ${counts}`
        : embedded.created
          ? `data folder ${config.dataDir}: new database`
          : `data folder ${config.dataDir}: existing database reused, ${counts}`
    log.info(
      {
        uws: uws.source,
        host: config.HOST,
        port,
        urls: { dashboard: `${base}/`, docs: `${base}/docs`, metrics: `${base}/metrics` },
        shards: config.SHARDS,
        ack: config.ACK_MODE,
        auth: config.AUTH_TOKENS === undefined ? 'off' : config.AUTH_READ ? 'all' : 'publish',
        database: describeTarget(target, embedded !== null),
        ...(embedded === null
          ? {}
          : { data_dir: config.dataDir, database_reused: !embedded.created }),
        migrations_applied: applied,
        state: {
          stored_events: loaded.unique_processed,
          duplicate_dropped: loaded.duplicate_dropped,
          topics: loaded.topic_count,
          counter_rows_folded: folded,
        },
      },
      `listening on ${base} (${uws.fallback === null ? 'uWebSockets.js' : 'SLOW pure-JS fallback'} ${uws.source}, ${config.SHARDS} shards); dashboard ${base}/, API docs ${base}/docs; ${storage}`,
    )
    return {
      port,
      async stop(rotationDrainMs = 0) {
        if (rotationDrainMs > 0) {
          server.leaveRotation()
          log.info(
            { drainMs: rotationDrainMs },
            'leaving rotation: /readyz answers 503, requests are still served',
          )
          await new Promise((resolve) => setTimeout(resolve, rotationDrainMs))
        }
        await server.close()
        await shards.close()
        clearInterval(saving)
        await save()
        await commits.close()
        await Promise.all(clients.map((c) => c.end({ timeout: 5 })))
        await embedded?.stop()
      },
    }
  } catch (error) {
    clearInterval(saving)
    await Promise.all(clients.map((c) => c.end({ timeout: 0 })))
    await embedded?.stop()
    throw error
  }
}

async function readiness(sql: Sql, shards: Shards, timeoutMs: number) {
  const database = await Promise.race([
    ping(sql).then(() => true),
    new Promise<boolean>((resolve) =>
      setTimeout(resolve, Math.min(timeoutMs, 2000), false).unref(),
    ),
  ]).catch(() => false)
  const workers = shards.workersUp
  return { ready: database && workers, checks: { database, workers } }
}

/** Where a browser on this machine reaches the server: a wildcard address is `localhost`. */
function httpBase(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host
  return `http://${name.includes(':') ? `[${name}]` : name}:${port}`
}
