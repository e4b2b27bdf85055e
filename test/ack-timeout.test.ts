/**
 * A durable request has a deadline (ACK_TIMEOUT_MS): when its events are not committed in time,
 * it gets 503 `ack_timeout` instead of waiting as long as the store stalls, while its events
 * stay in the pipeline and are still committed, and counted, once the store moves again.
 */
import t from 'tap'
import { startApp } from './support/app.js'
import { event, post, stats, waitForStats } from './support/client.js'
import { testDatabase } from './support/database.js'

const db = await testDatabase(t)

t.test(
  'a durable request still waiting at ACK_TIMEOUT_MS gets 503, and its events are stored later',
  async (t) => {
    const { url } = await startApp(t, {
      DATABASE_URL: db.url,
      ACK_MODE: 'durable',
      ACK_TIMEOUT_MS: '300',
      // the stall below must outlast the deadline, never the flush attempt
      DB_TIMEOUT_MS: '600000',
    })
    // a stalled store: the merge into `events` waits for this lock
    let release = () => {}
    const released = new Promise<void>((resolve) => (release = resolve))
    let locked = () => {}
    const holding = new Promise<void>((resolve) => (locked = resolve))
    const lock = db.sql.begin(async (tx) => {
      await tx`LOCK TABLE events IN ACCESS EXCLUSIVE MODE`
      locked()
      await released
    })
    await holding
    // without a deadline the request would wait for the lock: release it eventually, so that
    // such a server answers (200) and this test fails instead of hanging
    const fallback = setTimeout(release, 15_000)
    t.teardown(() => clearTimeout(fallback))

    const sent = event({ topic: 'ack.timeout' })
    const late = await post(url, '/publish', sent)
    t.equal(late.status, 503)
    t.equal(late.body.error, 'ack_timeout')
    t.match(late.body.message, /may still be stored/)
    t.match(late.body.message, /resend/)
    t.equal(late.headers.get('retry-after'), '1')
    t.equal((await stats(url)).in_flight, 1, 'its event is still in the pipeline')

    release()
    await lock
    const settled = await waitForStats(url, (s) => s.in_flight === 0)
    t.match(settled, { received: 1, unique_processed: 1, duplicate_dropped: 0, failed: 0 })
    const resent = await post(url, '/publish', sent)
    t.equal(resent.status, 200, 'a resend is safe')
    t.match(resent.body, { unique: 0, duplicates: 1 })
    t.match(await stats(url), { received: 2, unique_processed: 1, duplicate_dropped: 1 })
  },
)
