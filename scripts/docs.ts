/** `npm run docs`: rewrites every generated section of the docs from the code. */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { current, ROOT, sections, splice } from './generated-docs.js'

for (const section of await sections()) {
  const before = await current(section)
  const after = splice(before, section)
  if (after !== before) await writeFile(path.join(ROOT, section.file), after)
  process.stdout.write(
    `${section.file} (${section.name}): ${after === before ? 'unchanged' : 'updated'}\n`,
  )
}
