import t from 'tap'
import { current, sections, splice } from '../scripts/generated-docs.js'

t.test(
  'every generated section of the docs matches the code (`npm run docs` rewrites them)',
  async (t) => {
    const all = await sections()
    t.ok(all.length > 0, 'there are generated sections')
    for (const section of all) {
      const text = await current(section)
      t.equal(text, splice(text, section), `${section.file} (${section.name}) is up to date`)
    }
  },
)
