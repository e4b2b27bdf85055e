/** The response helper (`Exchange`) and the body reader, on a recorded fake of uWebSockets.js. */
import t from 'tap'
import { ERROR_CODES, errorSpec } from '../../src/errors.js'
import { readBody } from '../../src/http/body.js'
import { BodyBudget } from '../../src/http/budget.js'
import { Exchange } from '../../src/http/respond.js'
import { FakeResponse, fakeRequest } from './fake-response.js'

function exchange() {
  const fake = new FakeResponse()
  const settled: (number | null)[] = []
  const ex = new Exchange(fake.res, (status) => settled.push(status))
  return { fake, ex, settled }
}

/** Each test its own budget, so one test's reservations never show in another. */
const limits = (bodyBudgetBytes = 1000, bodyTimeoutMs = 10_000) => ({
  bodyLimitBytes: 100,
  bodyTimeoutMs,
  bodyBudget: new BodyBudget(bodyBudgetBytes),
})

t.test(
  'an answer writes the status line, the content type, its headers and the body, corked',
  async (t) => {
    const { fake, ex, settled } = exchange()
    ex.send(202, 'text/plain', 'queued', { 'X-One': '1', 'X-Two': '2' })
    t.equal(fake.status, '202 Accepted')
    t.same(fake.headers, [
      ['Content-Type', 'text/plain'],
      ['X-One', '1'],
      ['X-Two', '2'],
    ])
    t.equal(fake.body, 'queued')
    t.equal(fake.closed, false, 'the connection stays open')
    t.ok(fake.allCorked, 'every write happened inside one cork')
    t.same(settled, [202])
    t.ok(ex.settled)
  },
)

t.test('a request is answered once: later answers are ignored', async (t) => {
  const { fake, ex, settled } = exchange()
  ex.json(200, '{"first":true}')
  ex.json(500, '{"second":true}')
  ex.fail('internal', 'too late')
  t.equal(fake.ends, 1)
  t.equal(fake.body, '{"first":true}')
  t.same(settled, [200])
})

t.test(
  'nothing is written to a response the client aborted, and it settles once, with null',
  async (t) => {
    const { fake, ex, settled } = exchange()
    fake.clientAborts()
    ex.json(200, '{}')
    ex.fail('queue_full', 'full')
    t.equal(fake.ends, 0)
    t.equal(fake.status, null)
    t.same(settled, [null])
    t.ok(ex.settled)
  },
)

t.test(
  'fail() takes the status, Retry-After and connection handling from the catalogue',
  async (t) => {
    const { fake, ex } = exchange()
    ex.fail('shutting_down', 'the server is shutting down')
    t.equal(fake.status, '503 Service Unavailable')
    t.same(fake.headers, [
      ['Content-Type', 'application/json'],
      ['Retry-After', '1'],
    ])
    t.equal(fake.body, '{"error":"shutting_down","message":"the server is shutting down"}')
    t.equal(fake.closed, true)
  },
)

t.test(
  'fail() writes extra headers after the catalogue’s and extra body fields after the message',
  async (t) => {
    const { fake, ex } = exchange()
    ex.fail('validation', '1 of 1 events are invalid', {
      headers: { 'X-Extra': 'yes' },
      detail: { issues: [{ index: 0, path: 'topic', message: 'is required' }] },
    })
    t.equal(fake.status, '422 Unprocessable Entity')
    t.same(fake.headers, [
      ['Content-Type', 'application/json'],
      ['X-Extra', 'yes'],
    ])
    t.equal(
      fake.body,
      '{"error":"validation","message":"1 of 1 events are invalid","issues":[{"index":0,"path":"topic","message":"is required"}]}',
    )
    t.equal(fake.closed, false)
  },
)

t.test('every code gets its status with a reason phrase and a JSON body naming it', async (t) => {
  for (const code of ERROR_CODES) {
    const { fake, ex } = exchange()
    ex.fail(code, 'm')
    const spec = errorSpec(code)
    t.match(fake.status, new RegExp(`^${spec.status} [A-Z]`), code)
    t.same(JSON.parse(fake.body!), { error: code, message: 'm' })
    t.equal(fake.header('Retry-After'), spec.retryAfter?.toString(), `${code}: Retry-After`)
  }
})

t.test(
  'a code that closes only with the body unread closes before the body arrived, not after',
  async (t) => {
    const early = exchange()
    early.ex.fail('body_too_large', 'too large')
    t.equal(early.fake.closed, true, 'refused before the body was read')

    const late = exchange()
    readBody(late.ex, fakeRequest(), limits(), () => late.ex.fail('body_too_large', 'too large'))
    late.fake.send('[]', true)
    t.equal(late.fake.status, '413 Payload Too Large')
    t.equal(late.fake.closed, false, 'refused once the body was read')
  },
)

t.test('the body reader refuses an oversized body unread, and closes the connection', async (t) => {
  const declared = exchange()
  readBody(declared.ex, fakeRequest({ 'content-length': '101' }), limits(), () =>
    t.fail('no body is delivered'),
  )
  t.equal(declared.fake.status, '413 Payload Too Large')
  t.equal(declared.fake.closed, true, 'declared too large')

  const streamed = exchange()
  readBody(streamed.ex, fakeRequest(), limits(), () => t.fail('no body is delivered'))
  streamed.fake.send('x'.repeat(60), false)
  streamed.fake.send('x'.repeat(60), false)
  t.equal(streamed.fake.status, '413 Payload Too Large')
  t.equal(streamed.fake.closed, true, 'crossed the limit while streaming')
  t.match(JSON.parse(streamed.fake.body!), { error: 'body_too_large' })
})

t.test('the body reader delivers the chunks it was sent, in order, as one body', async (t) => {
  const { fake, ex } = exchange()
  let body = ''
  readBody(ex, fakeRequest(), limits(), (bytes) => {
    body = new TextDecoder().decode(bytes)
  })
  fake.send('{"a":', false)
  fake.send('1}', true)
  t.equal(body, '{"a":1}')
  t.equal(fake.ends, 0, 'nothing answered yet')
})

t.test(
  'a body that does not arrive in time is refused with 408 and the connection closed',
  async (t) => {
    const { fake, ex } = exchange()
    readBody(ex, fakeRequest(), limits(1000, 20), () => t.fail('no body is delivered'))
    fake.send('{"a":', false)
    await new Promise((resolve) => setTimeout(resolve, 60))
    t.equal(fake.status, '408 Request Timeout')
    t.equal(fake.closed, true)
  },
)

t.test('a body reserves its declared length before it is read, until it is answered', async (t) => {
  const { fake, ex } = exchange()
  const { bodyBudget, ...rest } = limits(100)
  readBody(ex, fakeRequest({ 'content-length': '7' }), { bodyBudget, ...rest }, () => {
    t.equal(bodyBudget.inUseBytes, 7, 'still held while the body is parsed and stored')
    ex.json(200, '{}')
  })
  t.equal(bodyBudget.inUseBytes, 7, 'reserved before any byte arrived')
  fake.send('{"a":1}', true)
  t.equal(fake.status, '200 OK')
  t.equal(bodyBudget.inUseBytes, 0, 'given back once answered')
})

t.test(
  'a body the budget cannot hold is refused unread with queue_full and Retry-After',
  async (t) => {
    const budget = new BodyBudget(100)
    t.ok(budget.reserve(60), 'another request holds most of the budget')
    const { fake, ex } = exchange()
    readBody(ex, fakeRequest({ 'content-length': '50' }), { ...limits(), bodyBudget: budget }, () =>
      t.fail('no body is delivered'),
    )
    t.equal(fake.status, '503 Service Unavailable')
    t.match(JSON.parse(fake.body!), { error: 'queue_full' })
    t.equal(fake.header('Retry-After'), '1')
    t.equal(fake.closed, false, 'the connection stays open: the client reads its answer')
    t.equal(budget.inUseBytes, 60, 'nothing taken by the refused body')
  },
)

t.test(
  'a body without a length reserves as it arrives and is refused when it does not fit',
  async (t) => {
    const budget = new BodyBudget(100)
    t.ok(budget.reserve(50))
    const { fake, ex } = exchange()
    readBody(ex, fakeRequest(), { ...limits(), bodyBudget: budget }, () =>
      t.fail('no body is delivered'),
    )
    fake.send('x'.repeat(30), false)
    t.equal(budget.inUseBytes, 80, 'the first chunk is reserved')
    fake.send('x'.repeat(30), false)
    t.match(JSON.parse(fake.body!), { error: 'queue_full' })
    t.equal(budget.inUseBytes, 50, 'its reservation is given back when refused')
  },
)

t.test('an aborted body gives its budget back and stops its timer at once', async (t) => {
  const { fake, ex } = exchange()
  const { bodyBudget, ...rest } = limits()
  readBody(ex, fakeRequest({ 'content-length': '40' }), { bodyBudget, ...rest }, () =>
    t.fail('no body is delivered'),
  )
  fake.send('x'.repeat(20), false)
  t.equal(bodyBudget.inUseBytes, 40)
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
  const before = timers()
  fake.clientAborts()
  t.equal(bodyBudget.inUseBytes, 0, 'given back on abort')
  // the timer's closure holds the chunks: left to fire, it would keep them until the timeout
  t.equal(timers(), before - 1, 'the body timer is cleared on abort, not left to fire')
})

t.test('an oversized body gives back what it had reserved', async (t) => {
  const { fake, ex } = exchange()
  const { bodyBudget, ...rest } = limits()
  readBody(ex, fakeRequest(), { bodyBudget, ...rest }, () => t.fail('no body is delivered'))
  fake.send('x'.repeat(60), false)
  t.equal(bodyBudget.inUseBytes, 60)
  fake.send('x'.repeat(60), false)
  t.equal(fake.status, '413 Payload Too Large')
  t.equal(bodyBudget.inUseBytes, 0)
})

t.test('a gzip body also reserves room for its inflated copy', async (t) => {
  const { fake, ex } = exchange()
  const { bodyBudget, ...rest } = limits()
  readBody(
    ex,
    fakeRequest({ 'content-length': '10' }),
    { bodyBudget, ...rest },
    () => ex.json(200, '{}'),
    100,
  )
  t.equal(bodyBudget.inUseBytes, 110)
  fake.send('x'.repeat(10), true)
  t.equal(bodyBudget.inUseBytes, 0)
})
