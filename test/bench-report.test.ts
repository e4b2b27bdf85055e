/** A recorded bench run rendered as the Markdown of docs/performance.md: no bench is run. */
import { format } from 'prettier'
import t from 'tap'
import { renderReport } from '../bench/report.js'
import type { BenchReport, ScenarioResult } from '../bench/run.js'

const result = (
  id: string,
  title: string,
  eventsPerSecond: number,
  more: Partial<ScenarioResult> = {},
): ScenarioResult => ({
  id,
  title,
  events: 1000,
  eventsPerSecond,
  requestsPerSecond: eventsPerSecond / 100,
  latencyMs: { p50: 10, p99: 40, max: 90 },
  refused: 0,
  peakRssMb: 200,
  exact: true,
  problems: [],
  cpu: {
    aggregatorMain: 8.25,
    aggregatorOthers: 3,
    postgres: 26.5,
    generator: { name: 'wrk', perRequest: 20 },
  },
  ...more,
})

const report: BenchReport = {
  machine: { cpus: 2, model: 'Test CPU', memoryGb: 8, node: 'v20.0.0', platform: 'linux 6.1' },
  startedAt: '2026-01-02T03:04:05.678Z',
  quick: false,
  shards: 2,
  scenarios: [
    result('1', 'batches of 100, durable', 40_000, { eventsPerBatch: 1250 }),
    result('2½', 'single events, at half load', 3_000, {
      requestsPerSecond: 3_000,
      latencyMs: { p50: 20, p99: 60, max: 70 },
      peakRssMb: 310,
      exact: false,
      problems: ['received 9 ≠ 10'],
    }),
  ],
  limit: {
    events: 300_000,
    unique: 240_000,
    seconds: 6,
    eventsPerSecond: 50_000,
    cpu: { postgres: 25, client: null },
  },
  naive: [result('naive-100', 'naive: batches of 100', 2_500)],
  generators: [
    result('gen-autocannon', 'single events, ack=async, sent by autocannon', 9_000, {
      cpu: {
        aggregatorMain: 30,
        aggregatorOthers: null,
        postgres: null,
        generator: { name: 'autocannon', perRequest: 60 },
      },
    }),
  ],
  generator: 'wrk',
  postgres: {},
  profile: {
    scenario: '2',
    lines: [
      { thread: 'main', fn: 'parseDocument request.js:42', share: 9.94 },
      { thread: 'w1', fn: 'writeBuffer', share: 5.2 },
    ],
  },
}

t.test('a run renders as its machine, a results table, the targets and the profile', async (t) => {
  const markdown = renderReport(report)
  t.equal(await format(markdown, { parser: 'markdown' }), markdown, 'as Prettier prints it')
  t.equal(
    markdown,
    `Run of 2026-01-02 03:04 UTC on 2 cores (Test CPU), 8 GiB, Node v20.0.0, linux 6.1; 2 shards; closed-loop load from wrk.

| #         | scenario                                             | events/s | HTTP req/s | latency ms p50 / p99 / max | events/batch | peak RSS MB | of limit | vs naive | exact               |
| --------- | ---------------------------------------------------- | -------: | ---------: | -------------------------- | -----------: | ----------: | -------: | -------: | ------------------- |
| 1         | batches of 100, durable                              |   40,000 |        400 | 10 / 40 / 90               |        1,250 |         200 |      80% |    16.0× | yes                 |
| 2½        | single events, at half load                          |    3,000 |      3,000 | 20 / 60 / 70               |            – |         310 |       6% |        – | NO: received 9 ≠ 10 |
| limit     | COPY + merge straight into PostgreSQL, 2 connections |   50,000 |          – | –                          |            – |           – |     100% |        – | –                   |
| naive-100 | naive: batches of 100                                |    2,500 |         25 | 10 / 40 / 90               |            – |         200 |       5% |     1.0× | yes                 |

CPU per event, in µs (user + system, from \`/proc\`, over the measured load), by who spent it:

| #              | scenario                                     | aggregator main thread | aggregator other threads | aggregator total | PostgreSQL | load generator µs/request |
| -------------- | -------------------------------------------- | ---------------------: | -----------------------: | ---------------: | ---------: | ------------------------: |
| 1              | batches of 100, durable                      |                    8.3 |                      3.0 |             11.3 |       26.5 |                20.0 (wrk) |
| 2½             | single events, at half load                  |                    8.3 |                      3.0 |             11.3 |       26.5 |                20.0 (wrk) |
| limit          | COPY + merge straight into PostgreSQL        |                      – |                        – |                – |       25.0 | – (the client, per event) |
| naive-100      | naive: batches of 100                        |                    8.3 |                      3.0 |             11.3 |       26.5 |                20.0 (wrk) |
| gen-autocannon | single events, ack=async, sent by autocannon |                   30.0 |                        – |                – |          – |         60.0 (autocannon) |

The targets, checked:

| target                                          | this run | met    |
| ----------------------------------------------- | -------- | ------ |
| scenario 1 at ≥ 75% of the limit                | 80%      | yes    |
| scenario 1 at ≥ 5× naive                        | 16.0×    | yes    |
| scenario 2½ (half load) p99 latency ≤ 50 ms     | 60 ms    | **no** |
| scenario 1: aggregator ≤ 10 µs of CPU per event | 11.3 µs  | **no** |
| scenario 1: PostgreSQL ≤ 27 µs of CPU per event | 26.5 µs  | yes    |
| peak RSS ≤ 300 MB                               | 310 MB   | **no** |

CPU profile of the aggregator under scenario 2 (self time, all threads, idle excluded):

\`\`\`text
  9.9%  main   parseDocument request.js:42
  5.2%  w1     writeBuffer
\`\`\`
`,
  )
})

t.test(
  'a quick run says its figures mean nothing, and targets it has no scenario for are left out',
  async (t) => {
    const quick = renderReport({
      ...report,
      quick: true,
      scenarios: [],
      naive: [],
      generators: [],
      profile: null,
    })
    t.match(
      quick,
      /; 2 shards; closed-loop load from wrk\. \*\*Quick run: a tiny load, the figures mean nothing\.\*\*\n/,
    )
    t.match(
      quick,
      /\| limit +\| COPY \+ merge straight into PostgreSQL, 2 connections +\| +50,000 \|/,
    )
    t.notMatch(quick, /target|CPU profile/)
  },
)

t.test('settings the run gave PostgreSQL are named with the machine', async (t) => {
  const tried = renderReport({
    ...report,
    postgres: { commit_delay: '100', wal_compression: 'lz4' },
  })
  t.match(
    tried,
    /closed-loop load from wrk\. PostgreSQL run with `commit_delay = 100`, `wal_compression = lz4`\.\n/,
  )
})
