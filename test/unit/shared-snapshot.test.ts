/** The snapshot cache behind /stats and /live, with its read, version and clock injected. */
import t from 'tap'
import { SharedSnapshot } from '../../src/stats/shared-snapshot.js'

/** A cache over a read that counts its calls and is answered by hand. */
function cache() {
  const state = { reads: 0, version: 0, now: 0 }
  const open: { resolve(n: number): void; reject(e: Error): void }[] = []
  const shared = new SharedSnapshot(
    () => {
      state.reads++
      return new Promise<number>((resolve, reject) => open.push({ resolve, reject }))
    },
    () => state.version,
    1000,
    () => state.now,
  )
  return { shared, state, open }
}

t.test('concurrent callers share one read', async (t) => {
  const { shared, state, open } = cache()
  const answers = Promise.all(Array.from({ length: 6 }, () => shared.get()))
  t.equal(state.reads, 1)
  open.shift()!.resolve(42)
  t.same(await answers, [42, 42, 42, 42, 42, 42])
})

t.test('an unchanged snapshot is answered from memory for a second, then read again', async (t) => {
  const { shared, state, open } = cache()
  const first = shared.get()
  open.shift()!.resolve(1)
  await first
  state.now = 999
  t.equal(await shared.get(), 1)
  t.equal(state.reads, 1)
  state.now = 1000
  const second = shared.get()
  t.equal(state.reads, 2)
  open.shift()!.resolve(2)
  t.equal(await second, 2)
})

t.test('a change counted by this process makes the next caller read again', async (t) => {
  const { shared, state, open } = cache()
  const first = shared.get()
  open.shift()!.resolve(1)
  await first
  state.version++
  const second = shared.get()
  t.equal(state.reads, 2, 'a client reads its own writes')
  open.shift()!.resolve(2)
  t.equal(await second, 2)
})

t.test('a failed read is not kept: the next caller tries again', async (t) => {
  const { shared, state, open } = cache()
  const first = shared.get()
  open.shift()!.reject(new Error('database down'))
  await t.rejects(first, /database down/)
  const second = shared.get()
  t.equal(state.reads, 2)
  open.shift()!.resolve(3)
  t.equal(await second, 3)
})

t.test('callers needing a newer snapshot during a read share the one read after it', async (t) => {
  const { shared, state, open } = cache()
  const first = shared.get()
  state.version++
  const later = Promise.all(Array.from({ length: 5 }, () => shared.get()))
  t.equal(state.reads, 1, 'one read at a time')
  open.shift()!.resolve(1)
  t.equal(await first, 1)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(state.reads, 2)
  open.shift()!.resolve(2)
  t.same(await later, [2, 2, 2, 2, 2])
})
