import t from 'tap'
import { copyEscape, stagingRow } from '../src/db/copy-text.js'
import { shardOf } from '../src/pipeline/route.js'

t.test('COPY text escapes exactly backslash, tab, newline and carriage return', async (t) => {
  t.equal(copyEscape('plain'), 'plain')
  t.equal(copyEscape('a\tb\nc\rd\\e'), 'a\\tb\\nc\\rd\\\\e')
  t.equal(copyEscape('\\N'), '\\\\N', 'the literal text \\N stays text, never NULL')
  t.equal(copyEscape('"quotes" & émoji 🎉'), '"quotes" & émoji 🎉')
})

t.test('a staging row is the part, then the escaped columns, tab-separated', async (t) => {
  const row = stagingRow(7, {
    topic: 'a',
    event_id: 'b\tc',
    timestamp: '2025-10-21T10:00:00Z',
    source: 's',
    payload: { k: 'v\n' },
  })
  t.equal(row, '7\ta\tb\\tc\t2025-10-21T10:00:00Z\ts\t{"k":"v\\\\n"}\n')
})

t.test('a key always maps to the same shard, and keys spread over all shards', async (t) => {
  t.equal(shardOf('topic', 'id-1', 4), shardOf('topic', 'id-1', 4))
  t.equal(shardOf('ab', 'c', 1), 0)
  const seen = new Set<number>()
  for (let i = 0; i < 200; i++) seen.add(shardOf('t', `id-${i}`, 4))
  t.same([...seen].sort(), [0, 1, 2, 3])
  t.not(shardOf('a', 'bc', 1024), shardOf('ab', 'c', 1024), 'the separator keeps fields apart')
})
