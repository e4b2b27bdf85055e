/**
 * `npm run consumer` as a process, against a stand-in feed (the SSE contract and `/stats`): it
 * ends on a count, an idle spell or SIGINT, resumes across disconnects, and exits 1 unless it
 * saw exactly the events `/stats` says are stored.
 */
import t from 'tap'
import type { TailSummary } from '../src/consumer/tail.js'
import { nothingListening } from './support/client.js'
import { startFakeFeed, storedEvent } from './support/fake-feed.js'
import { runConsumer, startTool } from './support/publisher.js'

const EVENTS = Array.from({ length: 30 }, (_, n) => storedEvent(n))

t.test('it sees every stored event once across a resume, and says so', async (t) => {
  const feed = await startFakeFeed(t, EVENTS, [
    { deliver: 10, then: 'drop' },
    { deliver: 5, then: 'subscriber_too_slow' },
    { then: 'hold' },
  ])
  const run = await runConsumer(['--url', feed.url, '--count', '30', '--json'])
  t.equal(run.code, 0, run.stderr)
  const summary = JSON.parse(run.stdout) as TailSummary
  t.match(summary, {
    ended: 'count',
    topic: null,
    received: 30,
    distinct: 30,
    repeats: 0,
    stored: 30,
    connections: 3,
    cursor: 'c30',
    problems: [],
  })
  t.match(run.stderr, /consumer: fake: subscriber_too_slow; resuming in 0 ms/)
  t.equal(feed.connections[2]?.lastEventId, 'c15')
})

t.test('one topic, ended by an idle spell; a human-readable summary', async (t) => {
  const feed = await startFakeFeed(t, EVENTS, [{ then: 'hold' }])
  const run = await runConsumer(['--url', feed.url, '--topic', 'topic-2', '--idle', '1'])
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /received +10 events \(10 distinct\) of topic topic-2 in .*; idle/)
  t.match(run.stdout, /stored +10 \(\/stats\)/)
  t.match(run.stdout, /check +exact: every stored event seen, each once/)
  t.match(run.stderr, /progress: 10\b/)
})

t.test('fewer events than /stats says are stored: exit 1, with the numbers', async (t) => {
  const feed = await startFakeFeed(t, EVENTS, [{ then: 'hold' }])
  feed.stored.total = 31
  const run = await runConsumer(['--url', feed.url, '--idle', '1'])
  t.equal(run.code, 1)
  t.match(run.stdout, /FAILED:\n {2}saw 30 distinct events, \/stats says 31 are stored/)
})

t.test('an event delivered twice is a failure too', async (t) => {
  const feed = await startFakeFeed(t, [...EVENTS.slice(0, 5), EVENTS[2]!], [{ then: 'hold' }])
  feed.stored.total = 5
  const run = await runConsumer(['--url', feed.url, '--idle', '1', '--json'])
  t.equal(run.code, 1)
  t.match(JSON.parse(run.stdout), { repeats: 1, problems: ['1 events arrived more than once'] })
})

t.test('Ctrl-C ends the tail and the check still runs', async (t) => {
  const feed = await startFakeFeed(t, EVENTS, [{ then: 'hold' }])
  const tool = startTool('consumer', ['--url', feed.url, '--json'])
  while (!/progress: 30\b/.test(tool.stderr())) await new Promise((r) => setTimeout(r, 20))
  tool.child.kill('SIGINT')
  const run = await tool.finished
  t.equal(run.code, 0, run.stderr)
  t.match(JSON.parse(run.stdout), { ended: 'interrupted', received: 30, problems: [] })
})

t.test('a topic /stats does not list: none when the list is whole, unknown when not', async (t) => {
  const feed = await startFakeFeed(t, EVENTS, [{ then: 'hold' }, { then: 'hold' }])
  const whole = await runConsumer(['--url', feed.url, '--topic', 'elsewhere', '--idle', '1'])
  t.equal(whole.code, 0, 'every topic is listed: none stored, none seen')
  feed.stored.unlisted = 1
  const partial = await runConsumer(['--url', feed.url, '--topic', 'elsewhere', '--idle', '1'])
  t.equal(partial.code, 1)
  t.match(partial.stdout, /topic elsewhere is not among the topics \/stats lists: cannot check/)
})

t.test('a refused subscription, nothing answering, bad options, --help', async (t) => {
  const feed = await startFakeFeed(t, EVENTS, [{ refuse: 401, error: 'unauthorized' }])
  const refused = await runConsumer(['--url', feed.url])
  t.equal(refused.code, 1)
  t.match(refused.stderr, /^consumer: 401 unauthorized: refused: unauthorized\n$/)
  const url = await nothingListening()
  const gone = await runConsumer(['--url', url])
  t.equal(gone.code, 1)
  t.match(gone.stderr, /nothing answers at .*\nIs the aggregator running\?/)
  const bad = await runConsumer(['--count', 'all'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--count must be a whole number/)
  const help = await runConsumer(['-h'], { PORT: '9292' })
  t.equal(help.code, 0)
  t.match(help.stdout, /--url URL .*default http:\/\/127\.0\.0\.1:9292, from PORT/)
  t.match(help.stdout, /--idle S/)
})
