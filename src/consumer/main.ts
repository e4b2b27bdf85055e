/**
 * The consumer: tails the aggregator's feed, shows the rate and progress, and at the end (a
 * count reached, an idle spell, or Ctrl-C) checks it saw exactly the events `/stats` says are
 * stored.
 *
 *   npm run consumer -- --topic payment.notification --idle 5
 */
import { parseArgs } from 'node:util'
import { command, defaultUrl, wholeNumber } from '../cli/command.js'
import { tail, type TailSummary } from './tail.js'

const HELP = `usage: npm run consumer -- [options]

Follows the aggregator's feed from the start (GET /events/stream, resuming by itself after a
disconnect), then checks that it saw every event /stats says is stored, each once.

  --url URL          aggregator base URL            (default ${defaultUrl()}, from PORT)
  --topic T          only this topic                (default every topic)
  --count N          stop after N events            (default no limit)
  --idle S           stop after S seconds without an event (default no limit)
  --token T          bearer token, for AUTH_READ     (default $CONSUMER_TOKEN)
  --json             print the summary as one JSON line
  -h, --help         this text

Ctrl-C stops it too, and the check still runs. Exit status: 0 when it saw exactly what is
stored, 1 when not or the run failed, 2 on bad options. Check once the publishers have stopped:
events stored after the end are not seen.
`

function report(s: TailSummary): string {
  const what = s.topic === null ? 'all topics' : `topic ${s.topic}`
  const ended = { count: 'count reached', idle: 'idle', interrupted: 'interrupted' }[s.ended]
  const lines = [
    `received      ${s.received} events (${s.distinct} distinct) of ${what} in ${s.seconds} s, ${s.events_per_second} events/s; ${ended}`,
    `connections   ${s.connections} (${s.connections - 1} resumes), last cursor ${s.cursor ?? 'none'}`,
    `stored        ${s.stored ?? 'unknown'} (/stats)`,
    s.problems.length === 0
      ? 'check         exact: every stored event seen, each once'
      : `check         FAILED:\n  ${s.problems.join('\n  ')}`,
  ]
  return lines.join('\n') + '\n'
}

await command('consumer', async () => {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      url: { type: 'string', default: defaultUrl() },
      topic: { type: 'string' },
      count: { type: 'string' },
      idle: { type: 'string' },
      token: { type: 'string', default: process.env.CONSUMER_TOKEN ?? '' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  const interrupted = new AbortController()
  process.once('SIGINT', () => interrupted.abort())
  const summary = await tail({
    url: values.url,
    token: values.token,
    topic: values.topic,
    count: values.count === undefined ? null : wholeNumber('count', values.count),
    idleMs: values.idle === undefined ? null : wholeNumber('idle', values.idle) * 1000,
    signal: interrupted.signal,
    settleMs: 30_000,
    onResume: (message) => process.stderr.write(`consumer: ${message}\n`),
  })
  process.stdout.write(values.json ? JSON.stringify(summary) + '\n' : report(summary))
  return summary.problems.length === 0 ? 0 : 1
})
