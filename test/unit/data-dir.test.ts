/**
 * DATA_DIR's failures in one plain line, on file systems this machine may not be able to mount:
 * the mkdir is played by a fake that answers as Node's does on a read-only mount.
 */
import { constants } from 'node:os'
import t from 'tap'
import { makeFolder, unusable, type Mkdir } from '../../src/db/data-dir.js'

/** An error as `fs.mkdir` rejects with: code, errno, syscall and path. */
const failure = (code: 'ENOENT' | 'EROFS', dir: string) =>
  Object.assign(new Error(`${code}: mkdir '${dir}'`), {
    code,
    errno: -constants.errno[code],
    syscall: 'mkdir',
    path: dir,
  })

/** A read-only mount at `mountPoint`: Node's recursive mkdir says ENOENT below it, a plain one EROFS. */
function readOnlyMount(mountPoint: string): Mkdir {
  return async (dir, options) => {
    if (dir === mountPoint || !dir.startsWith(`${mountPoint}/`)) return
    throw failure(options?.recursive === true ? 'ENOENT' : 'EROFS', dir)
  }
}

t.test('a DATA_DIR on a read-only mount is reported as read-only, not ENOENT', async (t) => {
  const dataDir = '/mnt/ro/data'
  const error: unknown = await makeFolder(`${dataDir}/db`, readOnlyMount('/mnt/ro')).then(
    () => null,
    (e: unknown) => e,
  )
  t.match(error, { code: 'EROFS', path: dataDir }, 'the folder that could not be made, and why')
  t.match(unusable(dataDir, error), {
    code: 'ERR_AGG_DATA_DIR',
    message: `DATA_DIR ${dataDir} cannot be used: mkdir ${dataDir}: read-only file system (EROFS)`,
  })
})

t.test('a folder that can be made is made with one call', async (t) => {
  const calls: string[] = []
  await makeFolder('/srv/agg/data', async (dir) => {
    calls.push(dir)
  })
  t.same(calls, ['/srv/agg/data'])
})

t.test('an error on a path unrelated to DATA_DIR is passed on unchanged', async (t) => {
  const error = failure('EROFS', '/elsewhere')
  t.equal(unusable('/srv/agg/data', error), error)
})
