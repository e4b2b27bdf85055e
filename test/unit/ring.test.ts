/** The dashboard's bounded history. */
import t from 'tap'
import { Ring } from '../../src/dashboard/ring.js'

t.test('a ring keeps the newest items, oldest first, and drops the oldest when full', async (t) => {
  const ring = new Ring<number>(3)
  t.same(ring.toArray(), [])
  t.equal(ring.ago(0), undefined)
  ring.push(1)
  ring.push(2)
  t.same(ring.toArray(), [1, 2])
  t.equal(ring.ago(0), 2)
  t.equal(ring.ago(1), 1)
  t.equal(ring.ago(2), undefined, 'not pushed yet')
  for (const n of [3, 4, 5]) ring.push(n)
  t.equal(ring.length, 3, 'bounded')
  t.same(ring.toArray(), [3, 4, 5])
  t.same([ring.ago(0), ring.ago(1), ring.ago(2), ring.ago(3)], [5, 4, 3, undefined])
  t.equal(ring.ago(-1), undefined)
})
