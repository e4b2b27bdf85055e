/**
 * `npm run build`, after `tsc -b`: the dashboard's page (src/dashboard/page/index.html) with its
 * stylesheet and its compiled script inlined, written as one document to
 * dist/src/dashboard/page.html, which src/dashboard/page.ts serves. Inline, because the page
 * must load nothing from anywhere (no CDN, no second request), and its CSP allows exactly the
 * one style and the one script by hash.
 */
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SOURCE = path.join(ROOT, 'src/dashboard/page')
/** Where the page's own tsconfig compiles client.ts. */
const SCRIPT = path.join(ROOT, 'dist/dashboard/client.js')
const OUTPUT = path.join(ROOT, 'dist/src/dashboard/page.html')

const STYLESHEET_TAG = '<link rel="stylesheet" href="style.css" />'
const SCRIPT_TAG = '<script src="client.js"></script>'

/** The page with `style` and `script` in place of the tags that name their files. */
export function bundle(html: string, style: string, script: string): string {
  // the HTML parser ends an inline element at the first closing tag of its kind
  if (/<\/style/i.test(style)) throw new Error('style.css must not contain </style')
  if (/<\/script/i.test(script)) throw new Error('client.js must not contain </script')
  const styled = replaceOnce(html, STYLESHEET_TAG, `<style>\n${style}</style>`)
  return replaceOnce(styled, SCRIPT_TAG, `<script>\n${script}</script>`)
}

/** Spliced by position: `String.replace` would read `$&` and friends in the script as patterns. */
function replaceOnce(text: string, tag: string, replacement: string): string {
  const at = text.indexOf(tag)
  if (at < 0 || text.indexOf(tag, at + 1) >= 0) {
    throw new Error(`index.html must contain ${tag} exactly once`)
  }
  return text.slice(0, at) + replacement + text.slice(at + tag.length)
}

async function main(): Promise<void> {
  const [html, style, script] = await Promise.all([
    readFile(path.join(SOURCE, 'index.html'), 'utf8'),
    readFile(path.join(SOURCE, 'style.css'), 'utf8'),
    readFile(SCRIPT, 'utf8'),
  ])
  await writeFile(OUTPUT, bundle(html, style, script))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
