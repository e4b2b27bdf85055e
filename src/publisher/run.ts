/**
 * One publisher run: send the planned events at least once through the client, wait until the
 * aggregator has drained, and compare its `/stats` delta with what was delivered.
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { AggregatorClient, PublishError, type PublishResult } from '../../client/index.js'
import { defaultUrl, UsageError, wholeNumber } from '../cli/command.js'
import { Progress } from '../cli/progress.js'
import { plan } from './plan.js'

export interface Summary {
  sent: number
  acknowledged: number
  requests: number
  retried: number
  expected_unique: number
  resent: number
  /** The run's seed: the same seed sends the same events again. */
  seed: number
  /** Whether --seed was given (the keys may have been sent before) or drawn (they are new). */
  seeded: boolean
  answered_unique: number | null
  answered_duplicates: number | null
  stats_delta: { received: number; unique_processed: number; duplicate_dropped: number }
  seconds: number
  events_per_second: number
  problems: string[]
}

/** The run's summary, or null when asked for --help. */
export async function run(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Summary | null> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string', default: defaultUrl(env) },
      events: { type: 'string', default: '20000' },
      duplicates: { type: 'string', default: '0.2' },
      batch: { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '16' },
      topics: { type: 'string', default: '10' },
      ack: { type: 'string', default: 'durable' },
      seed: { type: 'string' },
      timeout: { type: 'string', default: '300' },
      token: { type: 'string', default: env.PUBLISHER_TOKEN ?? '' },
      'no-gzip': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return null // main prints the help
  const events = wholeNumber('events', values.events)
  const duplicates = Number(values.duplicates)
  if (!(duplicates >= 0 && duplicates <= 0.9)) throw new UsageError('--duplicates must be 0..0.9')
  const ack = values.ack
  if (ack !== 'durable' && ack !== 'async') throw new UsageError('--ack must be durable or async')
  const seed =
    values.seed === undefined ? randomBytes(4).readUInt32LE() : wholeNumber('seed', values.seed, 0)
  const timeoutMs = wholeNumber('timeout', values.timeout) * 1000
  const client = new AggregatorClient({
    url: values.url,
    token: values.token,
    batch: { events: wholeNumber('batch', values.batch) },
    concurrency: wholeNumber('concurrency', values.concurrency),
    gzip: !values['no-gzip'],
    retry: { giveUpAfterMs: timeoutMs },
  })
  const planned = plan({
    events,
    duplicates,
    topics: wholeNumber('topics', values.topics),
    seed,
    runId: `run-${seed.toString(36)}`,
  })

  const before = await client.stats()
  const started = performance.now()
  const progress = new Progress('events acknowledged', events)
  let acknowledged = 0
  let result: PublishResult
  try {
    result = await client.publish(planned.events, {
      ack,
      signal: AbortSignal.timeout(timeoutMs),
      onBatch: (batch) => progress.update((acknowledged += batch.events)),
    })
  } catch (error) {
    if (!(error instanceof PublishError)) throw error
    const why =
      error.reason.name === 'TimeoutError'
        ? `--timeout ${timeoutMs / 1000} s passed`
        : error.message
    throw new Error(`${why} (${error.published.events} of ${events} events acknowledged)`, {
      cause: error.reason,
    })
  } finally {
    progress.end()
  }
  const after = await client.settledStats(Math.max(timeoutMs - (performance.now() - started), 0))
  const seconds = (performance.now() - started) / 1000

  const delta = {
    received: after.received - before.received,
    unique_processed: after.unique_processed - before.unique_processed,
    duplicate_dropped: after.duplicate_dropped - before.duplicate_dropped,
  }
  const problems = check(delta, {
    acknowledged: result.events,
    retried: result.retries,
    durable: ack === 'durable',
    answeredUnique: result.unique ?? 0,
    answeredDuplicates: result.duplicates ?? 0,
    unique: planned.unique,
    fresh: values.seed === undefined,
  })
  return {
    sent: events,
    acknowledged: result.events,
    requests: result.requests,
    retried: result.retries,
    expected_unique: planned.unique,
    resent: planned.resent,
    seed,
    seeded: values.seed !== undefined,
    answered_unique: result.unique,
    answered_duplicates: result.duplicates,
    stats_delta: delta,
    seconds: Math.round(seconds * 100) / 100,
    events_per_second: Math.round(result.events / seconds),
    problems,
  }
}

interface Delivered {
  acknowledged: number
  retried: number
  durable: boolean
  answeredUnique: number
  answeredDuplicates: number
  unique: number
  /** Keys never sent before (no --seed): every unique key must be stored by this run. */
  fresh: boolean
}

/**
 * What must hold if the server counted right, assuming no other client sends meanwhile. A retry
 * may follow an attempt that was partly stored, so with retries the server may count more.
 */
export function check(delta: Summary['stats_delta'], d: Delivered): string[] {
  const problems: string[] = []
  const expect = (ok: boolean, what: string) => ok || problems.push(what)
  const exact = d.retried === 0
  expect(
    delta.received === delta.unique_processed + delta.duplicate_dropped,
    `received ${delta.received} ≠ unique + duplicates`,
  )
  expect(
    exact ? delta.received === d.acknowledged : delta.received >= d.acknowledged,
    `server received ${delta.received}, publisher had ${d.acknowledged} acknowledged`,
  )
  if (d.durable && exact) {
    expect(
      delta.unique_processed === d.answeredUnique,
      `server stored ${delta.unique_processed}, answers said ${d.answeredUnique}`,
    )
    expect(
      delta.duplicate_dropped === d.answeredDuplicates,
      `server dropped ${delta.duplicate_dropped}, answers said ${d.answeredDuplicates}`,
    )
  }
  if (d.fresh)
    expect(
      delta.unique_processed === d.unique,
      `server stored ${delta.unique_processed} new events, expected ${d.unique}`,
    )
  else
    expect(
      delta.unique_processed <= d.unique,
      `server stored ${delta.unique_processed} > ${d.unique} keys sent`,
    )
  return problems
}
