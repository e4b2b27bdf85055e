/**
 * Markdown tables as Prettier prints them (cells padded to their column's width), so a generated
 * section passes `prettier --check` as written and `npm run docs` never fights the formatter.
 */
export type Align = 'left' | 'right'

/** Characters as Prettier counts them for our text: one column per code point. */
const width = (text: string) => [...text].length

export function markdownTable(head: string[], rows: string[][], align: Align[] = []): string {
  const cells = [head, ...rows].map((row) => row.map((cell) => cell.replaceAll('|', '\\|')))
  const widths = head.map((_, column) =>
    Math.max(3, ...cells.map((row) => width(row[column] ?? ''))),
  )
  const pad = (text: string, column: number) => {
    const space = ' '.repeat(widths[column]! - width(text))
    return align[column] === 'right' ? space + text : text + space
  }
  const line = (row: string[]) => `| ${widths.map((_, c) => pad(row[c] ?? '', c)).join(' | ')} |`
  const rule = widths.map((w, c) =>
    align[c] === 'right' ? '-'.repeat(w - 1) + ':' : '-'.repeat(w),
  )
  return [line(cells[0]!), `| ${rule.join(' | ')} |`, ...cells.slice(1).map(line)].join('\n')
}
