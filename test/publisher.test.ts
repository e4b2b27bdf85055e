/** The publisher CLI as users run it (a process), against the app started in-process. */
import t from 'tap'
import { plan } from '../src/publisher/plan.js'
import { report } from '../src/publisher/report.js'
import { check, type Summary } from '../src/publisher/run.js'
import { startApp } from './support/app.js'
import { nothingListening } from './support/client.js'
import { storedEvents, testDatabase } from './support/database.js'
import { runPublisher as publish } from './support/publisher.js'

t.test('a plan is repeatable by seed, with the asked share of later re-sends', async (t) => {
  const a = plan({ events: 1000, duplicates: 0.25, topics: 4, seed: 42, runId: 'r' })
  const b = plan({ events: 1000, duplicates: 0.25, topics: 4, seed: 42, runId: 'r' })
  t.same(a, b)
  t.equal(a.events.length, 1000)
  t.equal(a.unique, 750)
  t.equal(new Set(a.events.map((e) => e.event_id)).size, 750)
  const firstSeen = new Map<string, number>()
  a.events.forEach((e, i) => firstSeen.has(e.event_id) || firstSeen.set(e.event_id, i))
  t.ok(
    a.events.every((e, i) => firstSeen.get(e.event_id)! <= i),
    'every re-send comes after its original',
  )
  t.equal(new Set(a.events.map((e) => e.topic)).size, 4)
  t.not(
    plan({ events: 10, duplicates: 0, topics: 1, seed: 1, runId: 'r' }).events[0]?.payload.content,
    undefined,
  )
})

t.test('the count check accepts agreement and names each disagreement', async (t) => {
  const delta: Summary['stats_delta'] = {
    received: 100,
    unique_processed: 80,
    duplicate_dropped: 20,
  }
  const delivered = {
    acknowledged: 100,
    retried: 0,
    durable: true,
    answeredUnique: 80,
    answeredDuplicates: 20,
    unique: 80,
    fresh: true,
  }
  t.same(check(delta, delivered), [])
  t.equal(check({ ...delta, unique_processed: 79, received: 99 }, delivered).length, 3)
  t.same(
    check({ ...delta, received: 105, duplicate_dropped: 25 }, { ...delivered, retried: 2 }),
    [],
  )
})

t.test(
  'the publisher delivers a few thousand events and the server counts them exactly',
  async (t) => {
    const db = await testDatabase(t)
    const server = await startApp(t, { DATABASE_URL: db.url, QUEUE_MAX_EVENTS: '300' })
    const first = await publish([
      '--url',
      server.url,
      '--events',
      '4000',
      '--duplicates',
      '0.2',
      '--batch',
      '100',
      '--concurrency',
      '8',
      '--seed',
      '99',
      '--json',
    ])
    t.equal(first.code, 0, `exits 0 ${first.code === 0 ? '' : first.stderr}`)
    const summary = JSON.parse(first.stdout) as Summary
    t.match(summary, { sent: 4000, acknowledged: 4000, expected_unique: 3200, problems: [] })
    t.equal(summary.stats_delta.unique_processed, 3200)
    t.ok(summary.retried > 0, 'a small queue made it retry on 503 + Retry-After')
    t.equal(await storedEvents(db.sql), 3200)

    const again = await publish([
      '--url',
      server.url,
      '--events',
      '4000',
      '--seed',
      '99',
      '--ack',
      'async',
      '--json',
    ])
    t.equal(again.code, 0, `exits 0 ${again.code === 0 ? '' : again.stderr}`)
    const resent = JSON.parse(again.stdout) as Summary
    t.equal(resent.stats_delta.unique_processed, 0, 'the same seed again: only duplicates')
    t.ok(resent.stats_delta.duplicate_dropped >= 4000)

    // as people read it, with the default URL taken from PORT
    const plain = await publish(['--events', '500', '--seed', '99'], { PORT: String(server.port) })
    t.equal(plain.code, 0, plain.stderr)
    t.match(
      plain.stdout,
      /stored +nothing new: all 500 events were duplicates, an earlier run with --seed 99 stored these 400 events/,
    )
    t.match(plain.stdout, /check +counts agree/)
    t.notMatch(plain.stdout, /expected unique/)
  },
)

t.test('the summary says what was stored, in words', async (t) => {
  const summary: Summary = {
    sent: 100,
    acknowledged: 100,
    requests: 1,
    retried: 2,
    expected_unique: 80,
    resent: 20,
    seed: 7,
    seeded: false,
    answered_unique: 80,
    answered_duplicates: 20,
    stats_delta: { received: 100, unique_processed: 80, duplicate_dropped: 20 },
    seconds: 1,
    events_per_second: 100,
    problems: [],
  }
  t.match(report(summary), /stored +80 new events, 20 duplicates dropped\n/)
  t.match(report(summary), /\(20 planned re-sends, 2 retried\)/)
  const rerun = {
    ...summary,
    seeded: true,
    stats_delta: { ...summary.stats_delta, unique_processed: 30, duplicate_dropped: 70 },
  }
  t.match(
    report(rerun),
    /30 new events, 70 duplicates dropped; 50 of this seed's events were stored before/,
  )
  const all = {
    ...summary,
    stats_delta: { ...summary.stats_delta, unique_processed: 0, duplicate_dropped: 100 },
  }
  t.match(report(all), /stored +nothing new: all 100 events were duplicates\n/)
  t.match(report({ ...summary, problems: ['a', 'b'] }), /check +FAILED:\n {2}a\n {2}b/)
})

t.test('the publisher explains bad options and exits 2', async (t) => {
  const bad = await publish(['--events', 'many'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--events must be a whole number/)
  t.match(bad.stderr, /See --help/)
  for (const flag of ['--help', '-h']) {
    const help = await publish([flag], { PORT: '9191' })
    t.equal(help.code, 0)
    t.match(help.stdout, /--duplicates R/)
    t.match(
      help.stdout,
      /default http:\/\/127\.0\.0\.1:9191, from PORT/,
      `${flag}: the URL follows PORT`,
    )
  }
})

t.test('the publisher says plainly when nothing answers at the URL, and exits 1', async (t) => {
  const url = await nothingListening()
  const gone = await publish(['--url', url, '--events', '10', '--timeout', '1'])
  t.equal(gone.code, 1)
  t.equal(
    gone.stderr,
    `publisher: nothing answers at ${url}: connection refused (ECONNREFUSED)\n` +
      'Is the aggregator running? Start it with `npm start`, or give its address with --url.\n',
  )
})
