/**
 * docs/configuration.md's table: every key of the configuration schema (src/config.ts) with its
 * unit, accepted values and default read from the schema itself, and its meaning from
 * `CONFIG_DOCS`, so a key cannot be added, renamed or re-ranged without the docs following.
 */
import * as v from 'valibot'
import { CONFIG_DOCS, ConfigSchema } from '../../src/config.js'
import type { GeneratedSection } from '../generated-docs.js'
import { markdownTable } from '../markdown.js'

/** The parts of a key's valibot schema (`v.optional` around a picklist or a pipe) read here. */
interface KeySchema {
  wrapped: {
    options?: readonly string[]
    pipe?: readonly { type: string; requirement?: unknown }[]
  }
}

const code = (text: string) => `\`${text}\``

/** A range (`1–64`, `1–200 characters`) or the options; empty for free text. */
function accepted(schema: KeySchema): string {
  const { options, pipe = [] } = schema.wrapped
  if (options) return options.map(code).join(', ')
  const bound = (type: string) => {
    const requirement = pipe.find((action) => action.type === type)?.requirement
    return typeof requirement === 'number' ? requirement : undefined
  }
  const [min, max] = [bound('min_value'), bound('max_value')]
  if (min !== undefined && max !== undefined) return `${min}–${max}`
  const [shortest, longest] = [bound('min_length'), bound('max_length')]
  if (shortest !== undefined && longest !== undefined) return `${shortest}–${longest} characters`
  return ''
}

export const section: GeneratedSection = {
  file: 'docs/configuration.md',
  name: 'configuration',
  render() {
    const keys = Object.keys(ConfigSchema.entries) as (keyof typeof ConfigSchema.entries)[]
    const rows = keys.map((key) => {
      const [schema, doc] = [ConfigSchema.entries[key], CONFIG_DOCS[key]]
      const fallback = v.getDefault(schema)
      return [
        code(key),
        doc.unit,
        accepted(schema),
        doc.default ?? (fallback === undefined ? 'unset' : code(String(fallback))),
        doc.meaning,
      ]
    })
    const head = ['key', 'unit', 'values', 'default', 'meaning and trade-off']
    // blank lines around the table, as Prettier puts them after and before the markers
    return `\n${markdownTable(head, rows)}\n\n`
  },
}
