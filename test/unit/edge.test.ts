/** The edge counters' refusals: kept unsaved until a save succeeds, counted once either way. */
import pino from 'pino'
import t from 'tap'
import type { RefusalCount } from '../../src/db/rejections.js'
import { EdgeCounters } from '../../src/stats/edge.js'

const edge = () => new EdgeCounters(pino({ level: 'silent' }))

t.test(
  'a saved refusal leaves the unsaved count; a failed save keeps it for the next',
  async (t) => {
    const e = edge()
    e.refuse('validation')
    e.refusedEvents('validation', 4)
    await t.rejects(
      e.saveRefusals(() => Promise.reject(new Error('database down'))),
      /database down/,
    )
    t.same(e.unsavedTotal(), { requests: 1, events: 4 }, 'kept after the failure')
    const saved: [string, RefusalCount][] = []
    await e.saveRefusals(async (byReason) => {
      saved.push(...byReason)
    })
    t.same(saved, [['validation', { requests: 1, events: 4 }]])
    t.same(e.unsavedTotal(), { requests: 0, events: 0 })
  },
)

t.test('a refusal made while a save runs is kept for the next save', async (t) => {
  const e = edge()
  e.refuse('body_too_large')
  let finish = () => {}
  const saving = e.saveRefusals(() => new Promise<void>((resolve) => (finish = resolve)))
  await new Promise((resolve) => setImmediate(resolve))
  e.refuse('unsupported_media_type')
  finish()
  await saving
  t.same(e.unsavedTotal(), { requests: 1, events: 0 })
})

t.test('reads wait for a save in progress: never counted twice or not at all', async (t) => {
  const e = edge()
  e.refuse('validation')
  const order: string[] = []
  const saving = e.saveRefusals(async () => {
    await new Promise((resolve) => setTimeout(resolve, 10))
    order.push('saved')
  })
  const read = e.exclusive(async () => {
    order.push('read')
    return e.unsavedTotal()
  })
  await saving
  t.same(await read, { requests: 0, events: 0 })
  t.same(order, ['saved', 'read'])
})
