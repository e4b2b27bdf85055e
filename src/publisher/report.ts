/** The publisher's summary in words: what was sent, what the server made of it, the check. */
import type { Summary } from './run.js'

export function report(summary: Summary): string {
  const d = summary.stats_delta
  const retried = summary.retried === 0 ? '' : `, ${summary.retried} retried`
  const lines = [
    `sent          ${summary.sent} events in ${summary.requests} requests (${summary.resent} planned re-sends${retried})`,
    `acknowledged  ${summary.acknowledged}`,
    `stored        ${stored(summary)}`,
    `throughput    ${summary.events_per_second} events/s over ${summary.seconds} s`,
    summary.problems.length === 0
      ? `check         counts agree (/stats: received ${d.received}, unique ${d.unique_processed}, duplicates ${d.duplicate_dropped})`
      : `check         FAILED:\n  ${summary.problems.join('\n  ')}`,
  ]
  return lines.join('\n') + '\n'
}

/** What the server stored of it, said plainly, including a re-run that stored nothing. */
function stored(summary: Summary): string {
  const d = summary.stats_delta
  if (d.unique_processed === 0 && d.duplicate_dropped > 0)
    return summary.seeded
      ? `nothing new: all ${d.duplicate_dropped} events were duplicates, an earlier run with --seed ${summary.seed} stored these ${summary.expected_unique} events`
      : `nothing new: all ${d.duplicate_dropped} events were duplicates`
  const repeats =
    d.unique_processed < summary.expected_unique && summary.seeded
      ? `; ${summary.expected_unique - d.unique_processed} of this seed's events were stored before`
      : ''
  return `${d.unique_processed} new events, ${d.duplicate_dropped} duplicates dropped${repeats}`
}
