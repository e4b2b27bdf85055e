/** The benchmark's code paths on a tiny load, so they cannot rot. No timing is asserted. */
import t from 'tap'
import { renderReport } from '../bench/report.js'
import { bench } from '../bench/run.js'

// about fifteen aggregators and a PostgreSQL database each, one after another: on a busy 2-core
// machine this file alone can take longer than the suite's per-file timeout
t.setTimeout(600_000)

t.test('every scenario and every reference run and count exactly on a tiny load', async (t) => {
  const lines: string[] = []
  const log = (line: string) => lines.push(line)
  const report = await bench({ quick: true, profile: true, shards: 1, log })
  t.same(
    report.scenarios.map((s) => s.id),
    ['1', '1+dash', '2', '2½', '3', '4', '5'],
  )
  for (const s of [...report.scenarios, ...report.naive, report.floor!]) {
    t.ok(s.exact, `${s.id} counts exactly ${s.problems.join('; ')}`)
    t.ok(s.events > 0 && s.peakRssMb > 0, `${s.id} measured`)
  }
  t.equal(report.limit.events, 2000)
  t.ok(report.limit.unique > 0 && report.limit.unique < 2000, 'the limit run saw duplicates')
  t.same(
    report.naive.map((n) => n.id),
    ['naive-100', 'naive-1'],
  )
  t.ok(report.profile !== null && report.profile.lines.length > 0, 'a CPU profile was summarised')
  const markdown = renderReport(report)
  t.match(markdown, /\| 1 +\| batches of 100, durable +\|/)
  t.match(markdown, /\| limit +\| COPY \+ merge straight into PostgreSQL, 1 connection +\|/)
  t.match(markdown, /; 1 shard; /, 'the run names the shards it was given')
  t.equal(report.floor?.events, 300, 'the HTTP floor counted every event it answered')
  t.match(markdown, /\| floor-1 +\| HTTP floor: single events/)
  t.ok(lines.some((l) => l.startsWith('scenario 5')))
})
