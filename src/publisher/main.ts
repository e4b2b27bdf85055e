/**
 * The publisher: load generator and demo tool. Sends unique events plus a share of re-sent ones,
 * at least once, then checks the aggregator's `/stats` against what it delivered and exits
 * non-zero when they disagree.
 *
 *   npm run publisher -- --url http://127.0.0.1:8080 --events 20000 --duplicates 0.2
 */
import { run, UsageError, type Summary } from './run.js'

const HELP = `usage: npm run publisher -- [options]

  --url URL          aggregator base URL            (default http://127.0.0.1:8080)
  --events N         events to send, re-sends included (default 20000)
  --duplicates R     share of re-sent events, 0..0.9 (default 0.2)
  --batch N          events per request             (default 100)
  --concurrency N    requests in flight             (default 16)
  --topics N         distinct topics                (default 10)
  --ack MODE         durable | async                (default durable)
  --seed N           repeatable run: same seed, same events (default random)
  --timeout S        give up after S seconds        (default 300)
  --token T          bearer token, for AUTH_TOKENS   (default $PUBLISHER_TOKEN)
  --json             print the summary as one JSON line
  --help             this text
`

function print(summary: Summary): void {
  const d = summary.stats_delta
  const lines = [
    `sent             ${summary.sent} events in ${summary.requests} requests (${summary.resent} re-sends)`,
    `acknowledged     ${summary.acknowledged}`,
    `retried          ${summary.retried} requests`,
    `expected unique  ${summary.expected_unique}`,
    `/stats delta     received ${d.received}, unique ${d.unique_processed}, duplicates ${d.duplicate_dropped}`,
    `throughput       ${summary.events_per_second} events/s over ${summary.seconds} s`,
    summary.problems.length === 0
      ? 'check            counts agree'
      : `check            FAILED:\n  ${summary.problems.join('\n  ')}`,
  ]
  process.stdout.write(lines.join('\n') + '\n')
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json')
  try {
    const { summary, help } = await run(process.argv.slice(2))
    if (help || summary === null) {
      process.stdout.write(HELP)
      return
    }
    if (json) process.stdout.write(JSON.stringify(summary) + '\n')
    else print(summary)
    process.exitCode = summary.problems.length === 0 ? 0 : 1
  } catch (error) {
    process.stderr.write(`publisher: ${(error as Error).message}\n`)
    const usage =
      error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    process.exitCode = usage ? 2 : 1
  }
}

await main()
