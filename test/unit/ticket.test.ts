import t from 'tap'
import { BatchFailed, Ticket } from '../../src/pipeline/ticket.js'

t.test('a ticket is stored once every part is, with the parts’ unique counts summed', async (t) => {
  const ticket = new Ticket(5)
  ticket.addPart()
  ticket.addPart()
  ticket.seal()
  let settled = false
  void ticket.done.then(() => (settled = true))
  ticket.partStored(2)
  await Promise.resolve()
  t.notOk(settled, 'one part is still pending')
  ticket.partStored(1)
  t.same(await ticket.done, { accepted: 5, unique: 3, duplicates: 2 })
})

t.test('a ticket is not stored before it is sealed, even when its parts are', async (t) => {
  const ticket = new Ticket(1)
  ticket.addPart()
  ticket.partStored(1)
  let settled = false
  void ticket.done.then(() => (settled = true))
  await Promise.resolve()
  t.notOk(settled, 'more parts may still be added')
  ticket.seal()
  t.same(await ticket.done, { accepted: 1, unique: 1, duplicates: 0 })
})

t.test('a ticket fails with the first failed part, whatever the others do', async (t) => {
  const ticket = new Ticket(3)
  for (let i = 0; i < 3; i++) ticket.addPart()
  ticket.seal()
  ticket.partStored(1)
  const first = new BatchFailed({ cause: new Error('first') })
  ticket.partFailed(first)
  ticket.partFailed(new BatchFailed({ cause: new Error('second') }))
  ticket.partStored(1)
  t.equal(await ticket.done.catch((error: unknown) => error), first)
})

t.test('a sealed ticket without parts is stored at once, with zero counts', async (t) => {
  const ticket = new Ticket(0)
  ticket.seal()
  t.same(await ticket.done, { accepted: 0, unique: 0, duplicates: 0 })
})

t.test(
  'a failed batch is an AggregatorError with a stable code, a fixed message and its cause',
  async (t) => {
    const cause = new Error('relation "events" does not exist')
    const error = new BatchFailed({ cause })
    t.equal(error.code, 'ERR_AGG_BATCH_FAILED')
    t.equal(error.name, 'BatchFailed')
    t.equal(error.cause, cause)
    t.notMatch(error.message, /events|relation/, 'the message never quotes its cause')
  },
)
