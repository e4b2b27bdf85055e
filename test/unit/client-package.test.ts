/**
 * The client is its own package with no runtime dependency: its compiled modules import only
 * Node's built-ins and each other (the types taken from the server's schema are erased).
 */
import fs from 'node:fs/promises'
import t from 'tap'

const ROOT = new URL('../../../', import.meta.url)

t.test('the compiled client imports nothing but node: modules and its own files', async (t) => {
  const dir = new URL('dist/client/', ROOT)
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.js'))
  t.ok(files.includes('index.js'))
  for (const file of files) {
    const code = await fs.readFile(new URL(file, dir), 'utf8')
    const specifiers = [...code.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g)].map(
      (m) => m[1]!,
    )
    const foreign = specifiers.filter((s) => !s.startsWith('node:') && !/^\.\/[\w-]+\.js$/.test(s))
    t.same(foreign, [], `${file}: ${specifiers.join(', ') || 'no imports'}`)
  }
})

t.test('its package.json declares no dependencies', async (t) => {
  const pkg = JSON.parse(await fs.readFile(new URL('client/package.json', ROOT), 'utf8')) as {
    name: string
    type: string
    dependencies?: unknown
  }
  t.equal(pkg.name, '@pubsub-aggregator/client')
  t.equal(pkg.type, 'module', 'ES modules, as the compiled code is')
  t.equal(pkg.dependencies, undefined)
})
