/** The bench command's options: bad ones are refused before anything runs. No bench is run. */
import { Writable } from 'node:stream'
import t from 'tap'
import { main } from '../bench/run.js'

t.test('bad bench options are refused with a usage error before anything runs', async (t) => {
  const usage = { code: 'CLI_USAGE' }
  await t.rejects(main(['--shards', '0']), { ...usage, message: /--shards/ })
  await t.rejects(main(['--shards', '65']), { ...usage, message: /at most 64/ })
  await t.rejects(main(['--postgres', 'fsync']), { ...usage, message: /name=value/ })
  await t.rejects(main(['--quick', '--write-doc']), { ...usage, message: /--quick has none/ })
  await t.rejects(main(['--nope']), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' })
})

t.test('--help lists every option and runs nothing', async (t) => {
  let text = ''
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString()
      done()
    },
  })
  t.equal(await main(['--help'], out), 0)
  for (const option of [
    '--only',
    '--profile',
    '--postgres',
    '--shards',
    '--quick',
    '--write-doc',
  ]) {
    t.match(text, option)
  }
})
