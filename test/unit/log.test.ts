/** The log's two formats: JSON lines for machines, readable lines for people, ISO times in both. */
import t from 'tap'
import { createLogger, logFormat } from '../../src/log.js'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

function written(format: 'json' | 'pretty'): string[] {
  const lines: string[] = []
  const log = createLogger('info', format, { write: (line: string) => lines.push(line) })
  log.info({ shard: 1, events: 40 }, 'batch committed')
  log.debug('not at info')
  return lines
}

t.test('JSON: one object a line, its time in ISO 8601', async (t) => {
  const lines = written('json')
  t.equal(lines.length, 1)
  const entry = JSON.parse(lines[0]!) as Record<string, unknown>
  t.match(entry, { level: 30, msg: 'batch committed', shard: 1, events: 40, pid: process.pid })
  t.match(entry.time, ISO)
})

t.test('pretty: a line a person reads, with the same ISO time, its fields below', async (t) => {
  const [text] = written('pretty')
  const [first, ...fields] = text!.trimEnd().split('\n')
  t.match(first, /^\[\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\] INFO: batch committed$/)
  t.same(
    fields.map((line) => line.trim()),
    ['shard: 1', 'events: 40'],
  )
  t.notMatch(text, /pid/, 'the pid is left out: one process per terminal')
})

t.test('LOG_FORMAT decides; unset, a terminal gets pretty lines and a pipe JSON', async (t) => {
  t.equal(logFormat(undefined, { isTTY: true }), 'pretty')
  t.equal(logFormat(undefined, { isTTY: false }), 'json')
  t.equal(logFormat(undefined, {}), 'json', 'a pipe has no isTTY at all')
  t.equal(logFormat('json', { isTTY: true }), 'json')
  t.equal(logFormat('pretty', {}), 'pretty')
})
