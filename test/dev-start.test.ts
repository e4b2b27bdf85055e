/**
 * How a developer starts it: `npm start` reads a `.env` file when there is one (the shell's own
 * variables win over it), and `LOG_FORMAT=pretty` prints lines a person reads, with ISO times.
 * The start script of package.json is run as npm runs it, in a folder holding the `.env`.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { MAIN } from './support/aggregator.js'
import { event, post, stats } from './support/client.js'
import { tempDir, testDatabase } from './support/database.js'

const { scripts } = JSON.parse(
  await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
) as { scripts: { start: string } }

t.test('npm start reads .env, the environment wins over it, and pretty logs read', async (t) => {
  const [node, ...args] = scripts.start.split(' ')
  t.equal(node, 'node')
  t.equal(args.at(-1), 'dist/src/main.js', 'the script runs the built app')
  const folder = await tempDir(t, 'dotenv')
  await writeFile(
    path.join(folder, '.env'),
    '# settings for npm start\nSHARDS=3\nACK_MODE=async\nLOG_FORMAT=pretty\n',
  )
  const db = await testDatabase(t)
  const env: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', PORT: '0' }
  delete env.LOG_FORMAT
  delete env.SHARDS
  const child = spawn(process.execPath, [...args.slice(0, -1), MAIN], {
    cwd: folder,
    env: { ...env, DATABASE_URL: db.url, ACK_MODE: 'durable' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = once(child, 'exit')
  t.teardown(() => void child.kill('SIGKILL'))
  let stdout = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const listening = /listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(stdout)
      if (listening !== null) resolve(listening[1]!)
    })
    void exited.then(() => reject(new Error(`exited before listening:\n${stdout}`)))
  })
  const counts = await stats(url)
  t.equal(counts.shards.length, 3, 'SHARDS came from .env')
  t.equal(
    (await post(url, '/publish', event({ topic: 'dotenv' }))).status,
    200,
    'ACK_MODE from the environment wins',
  )
  child.kill('SIGTERM')
  t.same((await exited)[0], 0)

  const lines = stdout.split('\n').filter((line) => line.startsWith('['))
  t.ok(lines.length >= 3, 'start, shutdown and stop lines')
  for (const line of lines)
    t.match(line, /^\[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\] (INFO|WARN): /)
  t.notOk(
    stdout.split('\n').some((line) => line.startsWith('{')),
    'no JSON line: LOG_FORMAT=pretty came from .env',
  )
  t.match(stdout, /INFO: stopped cleanly/)
})
