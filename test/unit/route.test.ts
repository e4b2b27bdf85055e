import t from 'tap'
import { shardOf } from '../../src/pipeline/route.js'

t.test('a key always maps to the same shard, and keys spread over all shards', async (t) => {
  t.equal(shardOf('topic', 'id-1', 4), shardOf('topic', 'id-1', 4))
  t.equal(shardOf('ab', 'c', 1), 0)
  const seen = new Set<number>()
  for (let i = 0; i < 200; i++) seen.add(shardOf('t', `id-${i}`, 4))
  t.same([...seen].sort(), [0, 1, 2, 3])
  t.not(shardOf('a', 'bc', 1024), shardOf('ab', 'c', 1024), 'the separator keeps fields apart')
})
