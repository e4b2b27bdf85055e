/**
 * `rejected` counts refused publish requests the same way whatever refused them (body size,
 * media type, gzip, parser, validation), `rejected_events` the events in them where known, and
 * both survive a restart like the other counters.
 */
import t from 'tap'
import { startApp } from './support/app.js'
import { event, post, stats } from './support/client.js'
import { testDatabase } from './support/database.js'

const db = await testDatabase(t)
const env = {
  DATABASE_URL: db.url,
  SHARDS: '1',
  BODY_LIMIT_BYTES: '2048',
  MAX_EVENTS_PER_REQUEST: '3',
  LOG_LEVEL: 'debug',
}
const JSON_TYPE = { 'content-type': 'application/json' }

t.test('every refusal counts one request, and survives a restart', async (t) => {
  const first = await startApp(t, env)
  const refusals = [
    {
      reply: await post(first.url, '/publish', event(), { 'content-type': 'text/plain' }),
      code: 415,
    },
    { reply: await post(first.url, '/publish', 'x'.repeat(4096), JSON_TYPE), code: 413 },
    {
      reply: await post(first.url, '/publish', 'not gzip', {
        ...JSON_TYPE,
        'content-encoding': 'gzip',
      }),
      code: 400,
    },
    {
      reply: await post(
        first.url,
        '/publish',
        Array.from({ length: 5 }, () => event()),
      ),
      code: 413,
    },
    { reply: await post(first.url, '/publish', [event(), { topic: 'x' }]), code: 422 },
  ]
  t.same(
    refusals.map((r) => r.reply.status),
    refusals.map((r) => r.code),
  )
  const counted = await stats(first.url)
  t.equal(counted.rejected, 5, 'one per refused request, whatever the reason')
  t.equal(counted.rejected_events, 5 + 2, 'the events of the bodies that were parsed')
  const logged = first.logs.filter((l) => l.msg === 'publish refused').map((l) => l.reason)
  t.same(logged, [
    'unsupported_media_type',
    'body_too_large',
    'malformed_gzip',
    'too_many_events',
    'validation',
  ])
  await first.stop()

  const second = await startApp(t, env)
  const kept = await stats(second.url)
  t.equal(kept.rejected, 5, 'kept across the restart')
  t.equal(kept.rejected_events, 7)
  await post(second.url, '/publish', '{', JSON_TYPE)
  t.equal((await stats(second.url)).rejected, 6)
})
