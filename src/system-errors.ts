/**
 * Operating-system errors (a failed mkdir, bind…) in plain words, for start-up messages: the
 * system's own description and the errno name, as in `not a directory (ENOTDIR)`.
 */
import { getSystemErrorMap } from 'node:util'

export function systemReason(error: unknown): string {
  const { code, errno } = error as Partial<NodeJS.ErrnoException>
  const described = errno === undefined ? undefined : getSystemErrorMap().get(errno)?.[1]
  if (described !== undefined && code !== undefined) return `${described} (${code})`
  return error instanceof Error ? error.message : String(error)
}
