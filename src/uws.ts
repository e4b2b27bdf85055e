/**
 * Loads uWebSockets.js: the first native build that loads on this Node and C library. Two
 * packages are installed because no single one covers both runtimes the project runs on:
 *
 *   `uWebSockets.js`    = @btc-vision/uwebsockets.js, pinned: Node 20/22/24/25 on glibc ≥ 2.38,
 *                         the production image (Node 24 on Debian 13)
 *   `uws-js-unofficial` = @trufflesuite/uws-js-unofficial: Node 16/18/20 on older glibc, the
 *                         development and CI hosts (Node 20 on Debian 12)
 *
 * The unofficial fork's own entry point switches silently to a pure-JS server when its binary
 * does not load; that server is many times slower and has no WebSocket. Its binary is loaded
 * directly instead, and when no native build loads, start-up stops with
 * `ERR_AGG_UWS_UNAVAILABLE`, naming why each one did not, unless `UWS_FALLBACK=allow` asks for
 * the JS server (uws-fallback.ts), which the start-up then warns about.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type * as UwsTypes from 'uWebSockets.js'
import { AggregatorError } from './errors.js'
import { loadFallback } from './uws-fallback.js'

export interface Uws {
  module: typeof UwsTypes
  /** `package@version (binary file)`, for the start-up log line. */
  source: string
  /** Why no native build loaded, when this is the JS fallback; null on a native build. */
  fallback: string | null
}

/** `UWS_FALLBACK`: whether the pure-JS server may serve where no native build loads. */
export type UwsFallback = 'refuse' | 'allow'

/** One installed build; `load` throws when it does not load here. */
export interface UwsCandidate {
  /** `package@version`. */
  name: string
  /** The binary file it loads, relative to its package. */
  file: string
  load(): typeof UwsTypes
}

/** The binary file name the packages use for this Node: platform, architecture and ABI. */
export const BINARY = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`

/**
 * The decision: the first candidate that loads, in the order given (newest first). Pure but
 * for the loaders, which tests inject.
 */
export function chooseUws(
  candidates: readonly UwsCandidate[],
  fallback: UwsCandidate | null = null,
): Uws {
  const failures: string[] = []
  for (const candidate of candidates) {
    try {
      return {
        module: candidate.load(),
        source: `${candidate.name} (${candidate.file})`,
        fallback: null,
      }
    } catch (error) {
      failures.push(`${candidate.name}: ${reason(error)}`)
    }
  }
  const runtime = `Node ${process.version} (ABI ${process.versions.modules}) on ${process.platform}-${process.arch}, glibc ${glibc() ?? 'none'}`
  const why = `no uWebSockets.js binary loads on ${runtime}: ${failures.join('; ') || 'none is installed'}`
  if (fallback !== null) {
    return { module: fallback.load(), source: `${fallback.name} (${fallback.file})`, fallback: why }
  }
  throw new AggregatorError(
    'ERR_AGG_UWS_UNAVAILABLE',
    `${why}. Run Node 20, 22 or 24 on glibc 2.38 or later (Debian 13), or Node 20 on an older glibc; or set UWS_FALLBACK=allow to serve on a pure-JS server: many times slower, and no live dashboard`,
  )
}

/** A loader's failure in a few words: the C library version it lacks, or the missing file. */
function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const needs = /version `(GLIBC_[\d.]+)' not found/.exec(message)
  if (needs !== null) return `needs ${needs[1]}`
  if (/Cannot find module/.test(message))
    return `no binary for Node ABI ${process.versions.modules}`
  return (message.trim().split('\n').at(-1) ?? message).replace(/^Error: /, '')
}

const glibc = () =>
  (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header
    .glibcVersionRuntime

const require = createRequire(import.meta.url)

/** `name@version` of the installed package a file of it resolves to (through its npm alias). */
function packageOf(specifier: string): { dir: string; name: string } {
  const dir = path.dirname(require.resolve(specifier))
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    name: string
    version: string
  }
  return { dir, name: `${manifest.name}@${manifest.version}` }
}

const fork = () => packageOf('uws-js-unofficial/package.json')

/** The installed builds, newest first. */
export function installedCandidates(): UwsCandidate[] {
  // its entry point requires its binary for this Node and throws when that does not load
  const current = packageOf('uWebSockets.js')
  const { dir, name } = fork()
  const forkBinary = `binaries/${BINARY}`
  return [
    {
      name: current.name,
      file: BINARY,
      load: () => require('uWebSockets.js') as typeof UwsTypes,
    },
    {
      name,
      file: forkBinary,
      load: () => require(path.join(dir, forkBinary)) as typeof UwsTypes,
    },
  ]
}

/** The unofficial fork's pure-JS server, completed where the app needs it. */
export function fallbackCandidate(): UwsCandidate {
  const { dir, name } = fork()
  return { name, file: 'pure JS, dist/', load: () => loadFallback(dir) }
}

export function loadUws(fallback: UwsFallback = 'refuse'): Uws {
  return chooseUws(installedCandidates(), fallback === 'allow' ? fallbackCandidate() : null)
}
