/**
 * DATA_DIR on disk: making it, and saying in one line why it cannot be used. The file system's
 * own words are often misleading (ENOENT for a read-only mount), so the real reason is found.
 */
import fs from 'node:fs/promises'
import path from 'node:path'
import { AggregatorError } from '../errors.js'
import { systemReason } from '../system-errors.js'

/** `fs.mkdir`'s shape, so a test can play a file system this machine cannot mount. */
export type Mkdir = (dir: string, options?: { recursive: boolean }) => Promise<unknown>

/**
 * `fs.mkdir(dir, { recursive: true })`, failing with the real reason: Node's recursive mkdir
 * reports ENOENT for a folder it may not create (under a read-only mount), so on ENOENT each
 * missing folder is made one by one, and the one that fails says why.
 */
export async function makeFolder(dir: string, mkdir: Mkdir = fs.mkdir): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (error) {
    const parent = path.dirname(dir)
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === dir) throw error
    await makeFolder(parent, mkdir)
    await mkdir(dir)
  }
}

/**
 * A file-system error on DATA_DIR, on a folder inside it or on one of its parents, as one line
 * naming DATA_DIR and the reason (a file where a folder should be, permissions, a read-only
 * mount); any other error unchanged.
 */
export function unusable(dataDir: string, error: unknown): unknown {
  const { syscall, path: at } = error as Partial<NodeJS.ErrnoException>
  if (syscall === undefined || at === undefined) return error
  const related = [path.relative(dataDir, at), path.relative(at, dataDir)]
  if (related.every((relative) => relative.startsWith('..'))) return error
  return new AggregatorError(
    'ERR_AGG_DATA_DIR',
    `DATA_DIR ${dataDir} cannot be used: ${syscall} ${at}: ${systemReason(error)}`,
    { cause: error },
  )
}
