/** docs/errors.md: the internal codes (`INTERNAL_ERRORS` in src/errors.ts) as a table. */
import { INTERNAL_ERRORS, type InternalCode } from '../../src/errors.js'
import type { GeneratedSection } from '../generated-docs.js'
import { markdownTable } from '../markdown.js'

const rows = () =>
  (Object.keys(INTERNAL_ERRORS) as InternalCode[]).map((code) => [
    `\`${code}\``,
    INTERNAL_ERRORS[code],
  ])

export const section: GeneratedSection = {
  file: 'docs/errors.md',
  name: 'internal-errors',
  render: () => `\n${markdownTable(['code', 'meaning'], rows())}\n\n`,
}
