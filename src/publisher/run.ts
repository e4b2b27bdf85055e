/**
 * One publisher run: send the planned events at least once, wait until the aggregator has
 * drained, and compare its `/stats` delta with what was delivered.
 */
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import type { Stats } from '../stats/stats.js'
import { plan } from './plan.js'
import { Progress } from './progress.js'
import { deliver, type SendOptions } from './send.js'

export interface Summary {
  sent: number
  acknowledged: number
  requests: number
  retried: number
  expected_unique: number
  resent: number
  answered_unique: number | null
  answered_duplicates: number | null
  stats_delta: { received: number; unique_processed: number; duplicate_dropped: number }
  seconds: number
  events_per_second: number
  problems: string[]
}

export async function run(argv: string[]): Promise<{ summary: Summary | null; help: boolean }> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      events: { type: 'string', default: '20000' },
      duplicates: { type: 'string', default: '0.2' },
      batch: { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '16' },
      topics: { type: 'string', default: '10' },
      ack: { type: 'string', default: 'durable' },
      seed: { type: 'string' },
      timeout: { type: 'string', default: '300' },
      token: { type: 'string', default: process.env.PUBLISHER_TOKEN ?? '' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) return { summary: null, help: true }
  const events = positive('events', values.events)
  const duplicates = Number(values.duplicates)
  if (!(duplicates >= 0 && duplicates <= 0.9)) throw new UsageError('--duplicates must be 0..0.9')
  if (values.ack !== 'durable' && values.ack !== 'async') {
    throw new UsageError('--ack must be durable or async')
  }
  const seed =
    values.seed === undefined ? randomBytes(4).readUInt32LE() : positive('seed', values.seed, 0)
  const batch = positive('batch', values.batch)
  const concurrency = positive('concurrency', values.concurrency)
  const url = values.url.replace(/\/+$/, '')
  const options: SendOptions = {
    url,
    ack: values.ack,
    deadline: Date.now() + positive('timeout', values.timeout) * 1000,
    headers: {
      'content-type': 'application/json',
      ...(values.token === '' ? {} : { authorization: `Bearer ${values.token}` }),
    },
  }

  const planned = plan({
    events,
    duplicates,
    topics: positive('topics', values.topics),
    seed,
    runId: `run-${seed.toString(36)}`,
  })
  const bodies: { body: string; events: number }[] = []
  for (let i = 0; i < planned.events.length; i += batch) {
    const slice = planned.events.slice(i, i + batch)
    bodies.push({ body: JSON.stringify(slice), events: slice.length })
  }

  const before = await readStats(options)
  const started = performance.now()
  const progress = new Progress(events)
  let next = 0
  let acknowledged = 0
  let retried = 0
  let answeredUnique = 0
  let answeredDuplicates = 0
  const problems: string[] = []
  const worker = async () => {
    while (next < bodies.length) {
      const { body, events: n } = bodies[next++]!
      const delivery = await deliver(body, options, () => retried++)
      if (delivery.status >= 300) {
        problems.push(`a request was refused: ${delivery.status} ${JSON.stringify(delivery.body)}`)
        continue
      }
      acknowledged += n
      answeredUnique += delivery.body.unique ?? 0
      answeredDuplicates += delivery.body.duplicates ?? 0
      progress.update(acknowledged)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  progress.end()
  const after = await drained(options)
  const seconds = (performance.now() - started) / 1000

  const delta = {
    received: after.received - before.received,
    unique_processed: after.unique_processed - before.unique_processed,
    duplicate_dropped: after.duplicate_dropped - before.duplicate_dropped,
  }
  const durable = values.ack === 'durable'
  problems.push(
    ...check(delta, {
      acknowledged,
      retried,
      durable,
      answeredUnique,
      answeredDuplicates,
      unique: planned.unique,
      fresh: values.seed === undefined,
    }),
  )
  return {
    help: false,
    summary: {
      sent: events,
      acknowledged,
      requests: bodies.length,
      retried,
      expected_unique: planned.unique,
      resent: planned.resent,
      answered_unique: durable ? answeredUnique : null,
      answered_duplicates: durable ? answeredDuplicates : null,
      stats_delta: delta,
      seconds: Math.round(seconds * 100) / 100,
      events_per_second: Math.round(acknowledged / seconds),
      problems,
    },
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

export class UsageError extends Error {
  readonly code = 'PUBLISHER_USAGE'
}

function positive(name: string, text: string, min = 1): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be a whole number ≥ ${min}`)
  return n
}

async function readStats({ url, headers }: SendOptions): Promise<Stats> {
  const res = await fetch(`${url}/stats`, { headers })
  if (!res.ok) throw new Error(`GET ${url}/stats answered ${res.status}`)
  return (await res.json()) as Stats
}

/** Polls `/stats` until nothing is in flight, so counts are final. */
async function drained(options: SendOptions): Promise<Stats> {
  for (;;) {
    const stats = await readStats(options)
    if (stats.in_flight === 0) return stats
    if (Date.now() > options.deadline)
      throw new Error(`still ${stats.in_flight} events in flight at the deadline`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
