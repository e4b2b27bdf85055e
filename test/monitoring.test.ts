/**
 * Monitoring outside the process: the Prometheus alert rules (docs/prometheus) pass
 * `promtool check rules` and their unit tests, each has its runbook, and every metric the
 * rules and the Grafana board (docs/grafana) query is one a running aggregator exports.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { parse } from 'yaml'
import { startApp } from './support/app.js'
import { event, post } from './support/client.js'
import { testDatabase } from './support/database.js'

const execFileAsync = promisify(execFile)
const docs = (name: string) => fileURLToPath(new URL(`../../docs/${name}`, import.meta.url))
const RULES = docs('prometheus/alerts.yml')
const RULE_TESTS = docs('prometheus/alerts.test.yml')

interface Rule {
  alert: string
  expr: string
  annotations: Record<string, string>
}
const rules = (
  parse(await readFile(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }
).groups.flatMap((group) => group.rules)

interface Panel {
  type: string
  title: string
  targets?: { expr: string }[]
}
interface Board {
  panels: Panel[]
  templating: { list: { definition: string }[] }
}
const board = JSON.parse(await readFile(docs('grafana/aggregator.json'), 'utf8')) as Board

/** Every metric name a PromQL expression names: all of the aggregator's carry its prefix. */
const metricNames = (expr: string) => expr.match(/\baggregator_[a-z0-9_]+\b/g) ?? []

const promtool = await execFileAsync('promtool', ['--version']).then(
  () => 'promtool',
  () => null,
)
const noPromtool =
  promtool === null &&
  "promtool not found (Debian's `prometheus` package; .ci/run installs it): the rules are not checked"

t.test('the alert rules pass `promtool check rules`', { skip: noPromtool }, async (t) => {
  const { stdout } = await execFileAsync('promtool', ['check', 'rules', RULES])
  t.match(stdout, `SUCCESS: ${rules.length} rules found`)
})

t.test(
  'the alert rules pass their unit tests (`promtool test rules`)',
  { skip: noPromtool },
  async (t) => {
    const { stdout } = await execFileAsync('promtool', ['test', 'rules', RULE_TESTS])
    t.match(stdout, 'SUCCESS')
  },
)

t.test('the alerts the operators asked for are there, each with its runbook', async (t) => {
  const runbook = await readFile(docs('runbook.md'), 'utf8')
  const anchors = new Set(
    [...runbook.matchAll(/^## (\S+)$/gm)].map((m) => `docs/runbook.md#${m[1]!.toLowerCase()}`),
  )
  t.same(
    rules.map((rule) => rule.alert),
    [
      'AggregatorIngestionStopped',
      'AggregatorHigh5xxRatio',
      'AggregatorQueueNearFull',
      'AggregatorBatchCommitSlow',
      'AggregatorDatabaseUnreachable',
      'AggregatorInvariantBroken',
      'AggregatorEventsFailed',
    ],
  )
  for (const { alert, annotations } of rules) {
    t.ok(annotations.summary, `${alert} says what happened`)
    t.ok(annotations.runbook, `${alert} says what to do first`)
    t.ok(anchors.has(annotations.runbook_url ?? ''), `${alert} links its runbook section`)
  }
})

t.test('every metric the rules and the board query is one the server exports', async (t) => {
  const db = await testDatabase(t)
  const { url } = await startApp(t, { DATABASE_URL: db.url, SHARDS: '2' })
  // a batch and a refusal: labelled series exist once something is counted under a label
  t.equal((await post(url, '/publish', event({ topic: 'monitoring' }))).status, 200)
  t.equal((await post(url, '/publish', { topic: 'monitoring' })).status, 422)
  const text = await (await fetch(`${url}/metrics`)).text()
  const exported = new Set(
    text
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]),
  )
  const queried = [
    ...rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
    ...board.panels
      .filter((panel) => panel.type !== 'row')
      .flatMap((panel) => {
        t.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" has a query`)
        return (panel.targets ?? []).map(({ expr }) => ({ where: `panel "${panel.title}"`, expr }))
      }),
    ...board.templating.list.map((v) => ({ where: 'a variable', expr: v.definition })),
  ]
  for (const { where, expr } of queried) {
    const names = metricNames(expr)
    t.ok(names.length > 0, `${where} queries the aggregator's metrics`)
    for (const name of names) t.ok(exported.has(name), `${where}: ${name} is exported`)
  }
})
