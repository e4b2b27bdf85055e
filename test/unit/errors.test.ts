/**
 * The error catalogue against what the source emits and what the docs list (after fastify's
 * test/internals/errors.test.js): a code added, renamed or dropped in one place and not the
 * others fails here.
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../../scripts/generated-docs.js'
import {
  AggregatorError,
  ERROR_CODES,
  ERRORS,
  errorSpec,
  INTERNAL_ERRORS,
} from '../../src/errors.js'

/** Codes answered in the source: `ex.fail('code', …)`, and `error: 'code'` in refusal values. */
async function emittedCodes(): Promise<Set<string>> {
  const src = path.join(ROOT, 'src')
  const files = (await readdir(src, { recursive: true })).filter(
    (f) => f.endsWith('.ts') && f !== 'errors.ts',
  )
  const found = new Set<string>()
  for (const file of files) {
    const text = await readFile(path.join(src, file), 'utf8')
    for (const match of text.matchAll(/\.fail\(\s*'([a-z_]+)'|\berror: '([a-z_]+)'/g)) {
      found.add(match[1] ?? match[2]!)
    }
  }
  return found
}

t.test('the source answers with exactly the codes of the catalogue', async (t) => {
  const emitted = await emittedCodes()
  t.same(
    ERROR_CODES.filter((code) => !emitted.has(code)),
    [],
    'every catalogued code is answered somewhere',
  )
  t.same(
    [...emitted].filter((code) => !(code in ERRORS)),
    [],
    'every code answered is catalogued',
  )
})

t.test(
  'docs/errors.md lists exactly the catalogue’s codes, in its order, with their status',
  async (t) => {
    const text = await readFile(path.join(ROOT, 'docs/errors.md'), 'utf8')
    const listed = [...text.matchAll(/^\| `([a-z_]+)` +\| (\d{3}) /gm)].map((m) => [m[1], m[2]])
    t.same(
      listed,
      ERROR_CODES.map((code) => [code, String(errorSpec(code).status)]),
    )
  },
)

t.test('codes are stable snake_case names, each with a one-line meaning', async (t) => {
  for (const code of ERROR_CODES) {
    t.match(code, /^[a-z]+(?:_[a-z]+)*$/)
    const { meaning } = errorSpec(code)
    t.ok(meaning.length > 0 && !meaning.includes('\n'), `${code} has a one-line meaning`)
  }
})

t.test('every 503 tells the client when to retry, and no other code does', async (t) => {
  for (const code of ERROR_CODES) {
    const { status, retryAfter } = errorSpec(code)
    t.equal(retryAfter !== undefined, status === 503, `${code} (${status})`)
  }
})

t.test('internal errors are raised with exactly the catalogued ERR_AGG_ codes', async (t) => {
  const raised = new Set<string>()
  for (const dir of ['src', 'workers']) {
    const root = path.join(ROOT, dir)
    const files = (await readdir(root, { recursive: true })).filter(
      (f) => f.endsWith('.ts') && f !== 'errors.ts',
    )
    for (const file of files) {
      const text = await readFile(path.join(root, file), 'utf8')
      for (const match of text.matchAll(/'(ERR_AGG_[A-Z_]+)'/g)) raised.add(match[1]!)
    }
  }
  t.same([...raised].sort(), Object.keys(INTERNAL_ERRORS).sort())
  const docs = await readFile(path.join(ROOT, 'docs/errors.md'), 'utf8')
  const listed = [...docs.matchAll(/^\| `(ERR_AGG_[A-Z_]+)` /gm)].map((m) => m[1])
  t.same(listed, Object.keys(INTERNAL_ERRORS), 'docs/errors.md lists them in order')
})

t.test('an internal error carries its code and its class name', async (t) => {
  class Example extends AggregatorError {}
  const error = new Example('ERR_AGG_LISTEN', 'cannot listen', { cause: 'x' })
  t.equal(error.code, 'ERR_AGG_LISTEN')
  t.equal(error.name, 'Example')
  t.equal(error.cause, 'x')
  t.ok(error instanceof Error)
})
