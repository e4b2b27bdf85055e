/**
 * The live dashboard: one self-contained page (style and script inline, no external fetch: it
 * must work on a host without internet access). Its sources are real files in page/ (HTML, CSS,
 * a type-checked script); `npm run build` bundles them into page.html next to this module
 * (scripts/build-dashboard.ts). Its Content-Security-Policy allows exactly this page's own style
 * and script (by hash) and a connection back to its own origin, so nothing can load from
 * elsewhere.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { AggregatorError } from '../errors.js'

const BUNDLE = fileURLToPath(new URL('./page.html', import.meta.url))

function load(): string {
  try {
    return readFileSync(BUNDLE, 'utf8')
  } catch (error) {
    throw new AggregatorError(
      'ERR_AGG_DASHBOARD_NOT_BUILT',
      `cannot read the dashboard page ${BUNDLE}: build it with \`npm run build\``,
      { cause: error },
    )
  }
}

/** The text of the page's one inline `<tag>` element, as the browser hashes it. */
function inline(html: string, tag: 'style' | 'script'): string {
  const open = `<${tag}>`
  const start = html.indexOf(open)
  const end = html.indexOf(`</${tag}>`, start)
  if (start < 0 || end < 0) {
    throw new AggregatorError('ERR_AGG_DASHBOARD_NOT_BUILT', `${BUNDLE} has no inline <${tag}>`)
  }
  return html.slice(start + open.length, end)
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`

export const DASHBOARD_HTML = load()

export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${sha256(inline(DASHBOARD_HTML, 'script'))}`,
  `style-src ${sha256(inline(DASHBOARD_HTML, 'style'))}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')
