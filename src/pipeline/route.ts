/**
 * Which shard owns a key. FNV-1a over `topic NUL event_id`: NUL cannot occur in a validated field,
 * so the separator is unambiguous, and the hash is stable across processes and restarts, so one
 * key always lands on one worker and no two workers race on it.
 */
export function shardOf(topic: string, eventId: string, shards: number): number {
  let hash = 0x811c9dc5
  hash = mix(hash, topic)
  hash = Math.imul(hash, 0x01000193) >>> 0
  hash = mix(hash, eventId)
  return hash % shards
}

function mix(hash: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}
