/**
 * Announcing this process's commits to the other replicas (NOTIFY): at most one announcement per
 * ANNOUNCE_INTERVAL_MS however often batches commit, and never a commit left unannounced, also
 * when the process closes within the interval. The test overhears the channel as a replica does.
 */
import t from 'tap'
import { connect } from '../src/db/connect.js'
import { urlTarget } from '../src/db/target.js'
import { ANNOUNCE_INTERVAL_MS, Commits } from '../src/feed/commits.js'
import { createLogger } from '../src/log.js'
import { testDatabase } from './support/database.js'

const db = await testDatabase(t)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A process's Commits, and the times its announcements were heard. */
async function announcer(instance: string) {
  const sql = connect(urlTarget(db.url), { max: 1, connectTimeoutS: 10, onnotice: () => {} })
  t.teardown(() => sql.end({ timeout: 5 }))
  const heard: number[] = []
  const listening = await db.sql.listen('pubsub_aggregator_commits', (payload) => {
    if (payload === instance) heard.push(performance.now())
  })
  t.teardown(() => listening.unlisten())
  const commits = new Commits(sql, instance, createLogger('silent', 'json'))
  /** Resolves once `count` announcements were heard; fails after 30 s. */
  const hear = async (count: number) => {
    for (const deadline = Date.now() + 30_000; heard.length < count; await sleep(5)) {
      if (Date.now() > deadline) throw new Error(`heard ${heard.length} of ${count} announcements`)
    }
  }
  return { commits, heard, hear }
}

t.test(
  'commits every 2 ms are announced at most once per interval, the last one too',
  async (t) => {
    const { commits, heard, hear } = await announcer('steady')
    const started = performance.now()
    let last = started
    for (let i = 0; i < 100; i++) {
      commits.committed()
      last = performance.now()
      await sleep(2)
    }
    const elapsed = performance.now() - started
    await hear(1)
    for (const deadline = Date.now() + 30_000; heard.at(-1)! <= last; await sleep(5)) {
      if (Date.now() > deadline) throw new Error('the last commit was never announced')
    }
    await commits.close()
    // a commit every 2 ms was a NOTIFY every round trip before the interval: about 100 here
    t.ok(
      heard.length <= Math.ceil(elapsed / ANNOUNCE_INTERVAL_MS) + 2,
      `${heard.length} announcements for 100 commits over ${Math.round(elapsed)} ms`,
    )
    t.ok(heard.at(-1)! > last, 'one was heard after the last commit')
  },
)

t.test('close announces what is still waiting, and nothing follows it', async (t) => {
  const { commits, heard, hear } = await announcer('closing')
  // the first is sent at once; the second waits for it to end, then for the interval
  commits.committed()
  commits.committed()
  await commits.close()
  await hear(2)
  await sleep(ANNOUNCE_INTERVAL_MS * 5)
  t.equal(heard.length, 2, 'both commits announced by close, none after')
})
