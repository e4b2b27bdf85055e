import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'
import { runToExit } from './support/aggregator.js'

t.test('defaults apply when the environment is empty', async (t) => {
  const config = loadConfig({})
  t.equal(config.PORT, 8080)
  t.equal(config.ACK_MODE, 'durable')
  t.equal(config.STORE, 'postgres')
  t.equal(config.FLUSH_INTERVAL_MS, 0)
  t.equal(config.DATABASE_URL, undefined)
  t.ok(config.dataDir.endsWith('data'))
  t.ok(Object.isFrozen(config))
})

t.test('every bad key is reported at once', async (t) => {
  try {
    loadConfig({
      PORT: '99999',
      SHARDS: 'two',
      ACK_MODE: 'sometimes',
      DATABASE_URL: 'mysql://x',
      STORE: 'mysql',
    })
    t.fail('expected a ConfigError')
  } catch (error) {
    t.ok(error instanceof ConfigError)
    const message = (error as Error).message
    for (const key of ['PORT', 'SHARDS', 'ACK_MODE', 'DATABASE_URL', 'STORE']) t.match(message, key)
    t.match(message, 'STORE="mysql": must be one of postgres')
  }
})

t.test('ALLOWED_ORIGINS is a list of origins, written as browsers send them, or *', async (t) => {
  t.same(
    loadConfig({ ALLOWED_ORIGINS: 'https://App.example.com:443, http://localhost:3000' })
      .ALLOWED_ORIGINS,
    ['https://app.example.com', 'http://localhost:3000'],
  )
  t.same(loadConfig({ ALLOWED_ORIGINS: '*' }).ALLOWED_ORIGINS, ['*'])
  t.equal(loadConfig({}).ALLOWED_ORIGINS, undefined, 'unset: only the server’s own origin')
  for (const bad of ['app.example.com', 'https://app.example.com/', 'https://a.example,']) {
    t.throws(
      () => loadConfig({ ALLOWED_ORIGINS: bad }),
      /ALLOWED_ORIGINS=.*: must be comma-separated origins/,
      bad,
    )
  }
})

t.test('the body budget defaults to four largest bodies, and must hold one', async (t) => {
  t.equal(loadConfig({}).bodyBudgetBytes, 4 * 10 * 1024 ** 2)
  t.equal(loadConfig({ BODY_LIMIT_BYTES: '2048' }).bodyBudgetBytes, 8192, 'derived from the limit')
  t.equal(loadConfig({ BODY_LIMIT_BYTES: '2048', BODY_BUDGET_BYTES: '5000' }).bodyBudgetBytes, 5000)
  t.equal(loadConfig({}).QUEUE_MAX_BYTES, 64 * 1024 ** 2)
  t.throws(
    () => loadConfig({ BODY_LIMIT_BYTES: '4096', BODY_BUDGET_BYTES: '2048' }),
    { message: /BODY_BUDGET_BYTES="2048": must be at least BODY_LIMIT_BYTES \(4096\)/ },
    'a budget smaller than the largest body could never read it',
  )
})

t.test('the drain period on SIGTERM must end before the shutdown timeout', async (t) => {
  t.equal(loadConfig({}).SHUTDOWN_DRAIN_MS, 5000)
  t.equal(loadConfig({ SHUTDOWN_DRAIN_MS: '0' }).SHUTDOWN_DRAIN_MS, 0)
  t.throws(
    () => loadConfig({ SHUTDOWN_TIMEOUT_MS: '5000' }),
    { message: /SHUTDOWN_DRAIN_MS=5000: must be less than SHUTDOWN_TIMEOUT_MS \(5000\)/ },
    'the forced exit would cut the drain period short',
  )
})

t.test('empty values count as unset', async (t) => {
  t.equal(loadConfig({ PORT: '', LOG_LEVEL: '' }).PORT, 8080)
})

t.test('the service exits non-zero with a clear message on bad configuration', async (t) => {
  const { code, output } = await runToExit({ SHARDS: '0', BATCH_MAX_EVENTS: 'lots' })
  t.equal(code, 2)
  t.match(output, /invalid configuration/)
  t.match(output, /SHARDS="0": must be at least 1/)
  t.match(output, /BATCH_MAX_EVENTS="lots": must be a whole number/)
})
