/** `bench:subscribers` on a tiny load, so its code paths cannot rot. No timing is asserted. */
import { format } from 'prettier'
import t from 'tap'
import { postmasterOf, processCpu, treeCpu } from '../bench/cpu.js'
import { subscribersBench, type SubscribersRun } from '../bench/subscribers.js'
import { renderSubscribers } from '../bench/subscribers-report.js'

t.test(
  'every run counts exactly: each subscriber got every stored event it follows once',
  async (t) => {
    const lines: string[] = []
    const report = await subscribersBench({ quick: true, log: (line) => lines.push(line) })
    t.ok(report.maxEventsPerSecond > 0, 'the maximum rate was measured')
    t.same(
      report.runs.map((r) => [r.subscribers, r.topics]),
      [
        [0, 'all'],
        [1, 'all'],
        [3, 'each'],
      ],
    )
    for (const run of report.runs) {
      t.ok(run.exact, `${run.subscribers} subscribers: exact ${run.problems.join('; ')}`)
      t.ok(run.stored > 0 && run.ingestEventsPerSecond > 0, `${run.subscribers}: stored events`)
      t.equal(run.refused, 0, `${run.subscribers}: no publish refused`)
    }
    const [none, one, three] = report.runs as [SubscribersRun, SubscribersRun, SubscribersRun]
    t.equal(none.lagMs, null, 'no subscriber, no lag')
    t.equal(none.deliveredPerSecond, 0)
    t.equal(one.lagMs?.samples, one.stored, 'the one subscriber sampled every event')
    // three subscribers on three of the ten topics: each sampled, together a share of the store
    t.ok(three.lagMs !== null && three.lagMs.samples < three.stored, 'per-topic samples')
    t.ok(one.cpuMsPerThousand.aggregator !== null, 'the aggregator CPU was read from /proc')
    // the bench's own server records commit times; one given by DATABASE_URL may not
    t.ok(['commit', 'transaction start'].includes(one.lagFrom))
    t.ok(one.lagMs!.p50 >= 0, 'an event arrives after its commit')
    if (one.lagFrom === 'commit') {
      // readable no sooner than its own commit; arrival no sooner than readable
      t.ok(one.lagParts!.held.p50 >= 0 && one.lagParts!.delivery.p50 >= 0, 'the lag splits')
      t.match(renderSubscribers(report), /\*\*held\*\* is the wait/)
    } else t.equal(one.lagParts, null, 'no split without commit times')
    const markdown = renderSubscribers(report)
    t.equal(await format(markdown, { parser: 'markdown' }), markdown, 'as Prettier prints it')
    t.match(markdown, /Quick run/)
    t.match(markdown, /\| +3 \| one topic each +\|/)
    t.match(markdown, /p99 lag ≤ 250 ms with the most subscribers/)
    t.same(
      lines.map((l) => l.replace(/\d+ following/, 'N following')),
      [
        'subscribers: the maximum ingestion rate, no subscribers',
        ...report.runs.map(() => 'subscribers: N following at half the maximum rate'),
      ],
    )
  },
)

t.test('a run whose subscribers missed events renders what went wrong', async (t) => {
  const run: SubscribersRun = {
    subscribers: 2,
    topics: 'all',
    targetEventsPerSecond: 1000,
    ingestEventsPerSecond: 990,
    publishLatencyMs: { p50: 5, p99: 9 },
    refused: 0,
    stored: 9900,
    cpuMsPerThousand: { aggregator: null, database: null },
    coresBusy: { aggregator: null, database: null, client: 0.5 },
    deliveredPerSecond: 1900,
    deliveredPerSubscriber: 950,
    lagMs: { p50: 10, p99: 20, max: 30, samples: 100 },
    lagFrom: 'transaction start',
    lagParts: null,
    warmupLagMaxMs: 250,
    exact: false,
    problems: ['#1: received 9800 of 9900 events'],
  }
  const markdown = renderSubscribers({
    machine: { cpus: 2, model: 'Test CPU', memoryGb: 8, node: 'v20.0.0', platform: 'linux 6.1' },
    startedAt: '2026-01-02T03:04:05.678Z',
    loadAverage: [1, 2, 3],
    quick: false,
    shards: 2,
    maxEventsPerSecond: 2000,
    runs: [run],
  })
  t.match(markdown, /load average 1 \/ 2 \/ 3 at the start/)
  t.match(markdown, /\| –, – +\|/, 'no CPU figure where /proc showed none')
  t.match(markdown, /\| –, –, 0\.50 +\|/, 'the client’s own CPU still shown')
  t.match(markdown, /NO: #1: received 9800 of 9900 events/)
  t.match(markdown, /\| p99 lag ≤ 250 ms with the most subscribers +\| 20 ms +\| yes +\|/)
  t.notMatch(markdown, /ingestion with the most/, 'no comparison without a run of none')
  t.match(markdown, /from the start of the transaction that stored each event/)
  t.match(markdown, /during the warm-up, on a fresh process, the longest was 250 ms with 2\./)
})

t.test('CPU time is null for a process /proc does not show', async (t) => {
  // above Linux's largest pid_max: no such process
  t.equal(await processCpu(2 ** 23), null)
  t.equal(await treeCpu(2 ** 23), null)
  t.equal(await postmasterOf(2 ** 23), null)
  t.ok((await processCpu(process.pid))! >= 0)
})
