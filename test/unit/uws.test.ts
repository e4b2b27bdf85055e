import t from 'tap'
import type * as UwsTypes from 'uWebSockets.js'
import { AggregatorError } from '../../src/errors.js'
import { BINARY, chooseUws, installedCandidates, type UwsCandidate } from '../../src/uws.js'

/** A stand-in module: the decision only hands it on. */
const moduleNamed = (name: string) => ({ name }) as unknown as typeof UwsTypes

const loads = (name: string, calls: string[] = []): UwsCandidate => ({
  name,
  file: BINARY,
  load: () => {
    calls.push(name)
    return moduleNamed(name)
  },
})

const fails = (name: string, message: string, calls: string[] = []): UwsCandidate => ({
  name,
  file: `binaries/${BINARY}`,
  load: () => {
    calls.push(name)
    throw new Error(message)
  },
})

// what dlopen says on Debian 12 (glibc 2.36) for the newer build, and require for a missing ABI
const GLIBC_TOO_OLD =
  "This version of uWS.js (v20.57.0) supports only Node.js versions 20, 22, 24 and 25.\n\nError: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /app/uws_linux_x64_115.node)"
const NO_BINARY = `Cannot find module '/app/binaries/${BINARY}'`

t.test('the newest build that loads is chosen, and the older ones are not loaded', async (t) => {
  const calls: string[] = []
  const uws = chooseUws([loads('new@2', calls), loads('fork@1', calls)])
  t.same(uws.module, moduleNamed('new@2'))
  t.same(calls, ['new@2'])
  t.equal(uws.source, `new@2 (${BINARY})`, 'the log names the package and its binary')
})

t.test('where the newer build needs a newer glibc, the fork is chosen', async (t) => {
  const calls: string[] = []
  const uws = chooseUws([fails('new@2', GLIBC_TOO_OLD, calls), loads('fork@1', calls)])
  t.same(calls, ['new@2', 'fork@1'])
  t.equal(uws.source, `fork@1 (${BINARY})`)
})

t.test('where no build loads, start-up is refused in one line naming each reason', async (t) => {
  const error = t.throws(() =>
    chooseUws([fails('new@2', GLIBC_TOO_OLD), fails('fork@1', NO_BINARY)]),
  ) as AggregatorError
  t.type(error, AggregatorError)
  t.equal(error.code, 'ERR_AGG_UWS_UNAVAILABLE')
  t.notMatch(error.message, /\n/, 'one line')
  t.match(error.message, `Node ${process.version} (ABI ${process.versions.modules})`)
  t.match(error.message, 'new@2: needs GLIBC_2.38; ')
  t.match(error.message, `fork@1: no binary for Node ABI ${process.versions.modules}.`)
  t.match(error.message, /Run Node 20, 22 or 24 on glibc 2\.38 or later/)
  t.match(
    error.message,
    /or set UWS_FALLBACK=allow to serve on a pure-JS server: many times slower/,
  )
})

t.test(
  'with the fallback allowed, it serves only where no native build loads, saying why',
  async (t) => {
    const calls: string[] = []
    const native = chooseUws([loads('new@2', calls)], loads('js@1', calls))
    t.equal(native.fallback, null)
    t.same(calls, ['new@2'], 'the fallback is not loaded where a native build does')
    const js = chooseUws([fails('new@2', GLIBC_TOO_OLD), fails('fork@1', NO_BINARY)], loads('js@1'))
    t.same(js.module, moduleNamed('js@1'))
    t.match(
      js.fallback,
      /^no uWebSockets\.js binary loads on Node .*new@2: needs GLIBC_2\.38; fork@1: no binary/,
    )
  },
)

t.test('an unexpected load failure is named by its last line', async (t) => {
  const error = t.throws(() =>
    chooseUws([fails('new@2', 'wrapper text\n\nError: invalid ELF header')]),
  ) as AggregatorError
  t.match(error.message, 'new@2: invalid ELF header.')
  t.match(
    (t.throws(() => chooseUws([])) as AggregatorError).message,
    'none is installed',
    'and no candidate at all is said so',
  )
})

t.test('both packages are installed, newest first, and one of them loads here', async (t) => {
  const candidates = installedCandidates()
  t.same(
    candidates.map((c) => c.name.replace(/@[^@]+$/, '')),
    ['@btc-vision/uwebsockets.js', '@trufflesuite/uws-js-unofficial'],
  )
  t.same(
    candidates.map((c) => c.file),
    [BINARY, `binaries/${BINARY}`],
  )
  const uws = chooseUws(candidates)
  t.type(uws.module.App, 'function', `${uws.source} loads`)
})
