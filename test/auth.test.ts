import t from 'tap'
import { Tokens } from '../src/http/auth.js'
import { runToExit } from './support/aggregator.js'
import { startApp } from './support/app.js'
import { event, get, post } from './support/client.js'
import { testDatabase } from './support/database.js'
import { runPublisher } from './support/publisher.js'
const TOKEN = 'tok_0123456789abcdef'
const OTHER = 'tok_fedcba9876543210'
const bearer = (token: string) => ({
  'content-type': 'application/json',
  authorization: `Bearer ${token}`,
})

t.test('tokens: only a configured one passes, and none configured means open', async (t) => {
  const tokens = new Tokens([TOKEN, OTHER])
  t.ok(tokens.allows(`Bearer ${TOKEN}`))
  t.ok(tokens.allows(`bearer ${OTHER}`))
  t.notOk(tokens.allows(`Bearer ${TOKEN}x`))
  t.notOk(tokens.allows(TOKEN), 'the scheme is required')
  t.notOk(tokens.allows(''))
  t.ok(new Tokens([]).allows(''))
})

const db = await testDatabase(t)

t.test('with AUTH_TOKENS, publishing needs a token while reads stay open', async (t) => {
  const { url } = await startApp(t, { DATABASE_URL: db.url, AUTH_TOKENS: `${TOKEN}, ${OTHER}` })
  const anonymous = await post(url, '/publish', event())
  t.equal(anonymous.status, 401)
  t.equal(anonymous.body.error, 'unauthorized')
  t.equal(anonymous.headers.get('www-authenticate'), 'Bearer')
  t.equal((await post(url, '/publish', event(), bearer('tok_wrong_wrong_wrong'))).status, 401)
  t.equal((await post(url, '/publish', event(), bearer(OTHER))).status, 200)
  t.equal((await get(url, '/stats')).status, 200)
  t.equal((await get(url, '/events')).status, 200)
})

t.test('with AUTH_READ=true, reads need a token too; health checks never do', async (t) => {
  const { url } = await startApp(t, {
    DATABASE_URL: db.url,
    AUTH_TOKENS: TOKEN,
    AUTH_READ: 'true',
  })
  const publisher = await runPublisher([
    '--url',
    url,
    '--events',
    '200',
    '--token',
    TOKEN,
    '--json',
  ])
  t.equal(publisher.code, 0, 'the publisher sends its --token on writes and reads')
  t.match(JSON.parse(publisher.stdout), { acknowledged: 200, problems: [] })
  for (const path of ['/stats', '/events']) {
    t.equal((await get(url, path)).status, 401, path)
    const res = await fetch(url + path, { headers: { authorization: `Bearer ${TOKEN}` } })
    t.equal(res.status, 200, `${path} with a token`)
  }
  for (const path of ['/health', '/healthz', '/readyz']) t.equal((await get(url, path)).status, 200)
})

t.test('short tokens are refused at start-up without echoing them', async (t) => {
  const { code, output } = await runToExit({ AUTH_TOKENS: 'short', DATABASE_URL: db.url })
  t.equal(code, 2)
  t.match(output, /AUTH_TOKENS=<hidden>: must be comma-separated tokens/)
  t.notMatch(output, /short/)
})
