/**
 * The publisher: load generator and demo tool. Sends unique events plus a share of re-sent ones,
 * at least once (through the client in client/), then checks the aggregator's `/stats` against
 * what it delivered and exits non-zero when they disagree.
 *
 *   npm run publisher -- --events 20000 --duplicates 0.2
 */
import { command, defaultUrl } from '../cli/command.js'
import { report } from './report.js'
import { run } from './run.js'

const HELP = `usage: npm run publisher -- [options]

Sends events to the aggregator, a share of them twice, then checks its /stats.

  --url URL          aggregator base URL            (default ${defaultUrl()}, from PORT)
  --events N         events to send, re-sends included (default 20000)
  --duplicates R     share of re-sent events, 0..0.9 (default 0.2)
  --batch N          events per request             (default 100)
  --concurrency N    requests in flight             (default 16)
  --topics N         distinct topics                (default 10)
  --ack MODE         durable | async                (default durable)
  --seed N           repeatable run: same seed, same events (default random)
  --timeout S        give up after S seconds        (default 300)
  --token T          bearer token, for AUTH_TOKENS   (default $PUBLISHER_TOKEN)
  --no-gzip          send bodies uncompressed
  --json             print the summary as one JSON line
  -h, --help         this text

Exit status: 0 when the counts agree, 1 when they do not or the run failed, 2 on bad options.
`

await command('publisher', async () => {
  const summary = await run(process.argv.slice(2))
  if (summary === null) {
    process.stdout.write(HELP)
    return 0
  }
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(summary) + '\n')
  else process.stdout.write(report(summary))
  return summary.problems.length === 0 ? 0 : 1
})
