/** docs/errors.md: the error catalogue (src/errors.ts) as a table. */
import { ERROR_CODES, errorSpec, type ErrorSpec } from '../../src/errors.js'
import type { GeneratedSection } from '../generated-docs.js'
import { markdownTable } from '../markdown.js'

const CLOSES: Record<`${ErrorSpec['closes']}`, string> = {
  true: 'yes',
  false: 'no',
  'body-unread': 'if the body is unread',
}

const rows = () =>
  ERROR_CODES.map((code) => {
    const spec = errorSpec(code)
    return [
      `\`${code}\``,
      String(spec.status),
      spec.retryAfter === undefined ? '—' : `${spec.retryAfter} s`,
      CLOSES[`${spec.closes}`],
      spec.meaning,
    ]
  })

export const section: GeneratedSection = {
  file: 'docs/errors.md',
  name: 'errors',
  // blank lines around the table, as prettier separates Markdown blocks
  render: () =>
    `\n${markdownTable(['code', 'status', 'Retry-After', 'closes connection', 'meaning'], rows())}\n\n`,
}
