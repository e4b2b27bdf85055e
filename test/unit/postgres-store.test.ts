/**
 * The PostgreSQL store's pure half: row encoding and retry classification. Its batch write is
 * tested end to end against a real PostgreSQL (roundtrip, concurrency, failures, outage).
 */
import t from 'tap'
import { copyEscape } from '../../src/db/copy-text.js'
import { postgresStore } from '../../src/db/postgres-store.js'
import { STORE_NAMES, storeNamed, UnknownStore } from '../../src/db/store.js'

const retry = (error: unknown, attempt = 1) => postgresStore.retryDelayMs(error, attempt)

t.test('COPY text escapes exactly backslash, tab, newline and carriage return', async (t) => {
  t.equal(copyEscape('plain'), 'plain')
  t.equal(copyEscape('a\tb\nc\rd\\e'), 'a\\tb\\nc\\rd\\\\e')
  t.equal(copyEscape('\\N'), '\\\\N', 'the literal text \\N stays text, never NULL')
  t.equal(copyEscape('"quotes" & émoji 🎉'), '"quotes" & émoji 🎉')
})

t.test('a row is the part, then the escaped columns, tab-separated', async (t) => {
  const row = postgresStore.row(7, {
    topic: 'a',
    event_id: 'b\tc',
    timestamp: '2025-10-21T10:00:00Z',
    source: 's',
    payload: '{ "k":\t"v\\n" }',
  })
  t.equal(row, '7\ta\tb\\tc\t2025-10-21T10:00:00Z\ts\t{ "k":\\t"v\\\\n" }\n')
})

t.test('the store is found by its name, the default of the STORE setting', async (t) => {
  t.equal(STORE_NAMES[0], 'postgres')
  t.equal(storeNamed('postgres'), postgresStore)
  t.throws(() => storeNamed('mysql'), UnknownStore)
  t.throws(() => storeNamed('mysql'), { code: 'ERR_AGG_UNKNOWN_STORE', message: /mysql/ })
})

t.test('transient failures are retried with delays that double up to a cap', async (t) => {
  const refused = { code: 'ECONNREFUSED' }
  t.same(
    [1, 2, 3, 4, 5, 6, 10].map((attempt) => retry(refused, attempt)),
    [50, 100, 200, 400, 800, 1000, 1000],
  )
  t.ok(retry({ code: '08006' }), 'any connection exception (SQLSTATE class 08)')
  t.ok(retry({ code: 'ERR_AGG_ATTEMPT_TIMEOUT' }), 'an attempt that ran out of time')
  t.ok(retry({ code: 'CONNECTION_CLOSED' }), 'postgres.js lost its connection')
})

t.test('each kind of transient failure waits as long as it deserves', async (t) => {
  const deadlock = retry({ code: '40P01' })!
  const shutdown = retry({ code: '57P01' })!
  const crowded = retry({ code: '53300' })!
  t.ok(deadlock < shutdown, 'a conflict clears sooner than a server comes back')
  t.ok(shutdown < crowded, 'a full server is given room')
})

t.test('a data error is not transient: the batch fails at once', async (t) => {
  t.equal(retry({ code: '22P05', message: 'character with byte sequence 0xf0 0x9f …' }), null)
  t.equal(retry({ code: '42P01', message: 'relation "staging" does not exist' }), null)
})

t.test('anything else fails the batch at once', async (t) => {
  const cases: [string, unknown][] = [
    ['a unique violation', { code: '23505' }],
    ['a code that is not a string', { code: 42 }],
    ['an error without a code', new Error('no code')],
    ['a thrown string', 'a string'],
    ['null', null],
    ['undefined', undefined],
  ]
  for (const [what, error] of cases) t.equal(retry(error), null, what)
})
