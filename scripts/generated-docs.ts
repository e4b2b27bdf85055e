/**
 * Documentation derived from the code: each module in `scripts/docs/` renders one section of one
 * Markdown file from the definitions it documents (the error catalogue, the configuration
 * schema), so the docs cannot drift from the code. A section sits between
 * `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` in its file; the prose around it is
 * written by hand.
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface GeneratedSection {
  /** The Markdown file, relative to the repository root. */
  file: string
  name: string
  render(): string
}

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Every section, from the compiled modules in `dist/scripts/docs/`. */
export async function sections(): Promise<GeneratedSection[]> {
  const dir = new URL('./docs/', import.meta.url)
  const files = (await readdir(dir)).filter((f) => f.endsWith('.js')).sort()
  return Promise.all(
    files.map(async (f) => {
      const module = (await import(new URL(f, dir).href)) as { section: GeneratedSection }
      return module.section
    }),
  )
}

/** `text` with the section's content replaced; throws when its markers are missing. */
export function splice(text: string, section: GeneratedSection): string {
  const open = `<!-- generated:${section.name} -->\n`
  const close = `<!-- /generated:${section.name} -->`
  const start = text.indexOf(open)
  const end = text.indexOf(close)
  if (start < 0 || end < start) {
    throw new Error(`${section.file} has no ${open.trim()} … ${close} markers`)
  }
  return text.slice(0, start + open.length) + section.render() + text.slice(end)
}

export async function current(section: GeneratedSection): Promise<string> {
  return readFile(path.join(ROOT, section.file), 'utf8')
}
