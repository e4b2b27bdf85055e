/**
 * PostgreSQL's COPY text format: columns split by tab, rows by newline, and backslash escapes.
 * Only four characters need escaping (NUL never reaches here: the edge rejects it), so every
 * value round-trips byte for byte and the literal text `\N` stays text, not NULL.
 */
const SPECIAL = /[\\\t\n\r]/
const SPECIAL_ALL = /[\\\t\n\r]/g
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' }

export function copyEscape(value: string): string {
  return SPECIAL.test(value) ? value.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : value
}

/** One row: the staging columns after `part`, tab-separated, newline-terminated. */
export function copyRow(fields: readonly string[]): string {
  let row = ''
  for (let i = 0; i < fields.length; i++) row += (i === 0 ? '' : '\t') + copyEscape(fields[i]!)
  return row + '\n'
}
