/** A second of the dashboard's figures from two samples of the vitals; latency quantiles. */
import t from 'tap'
import { pulse, quantile } from '../../src/dashboard/pulse.js'
import type { Vitals } from '../../src/stats/vitals.js'

const BOUNDS = [0.01, 0.1, 1, Infinity]

t.test('a quantile is interpolated in its bucket, as histogram_quantile does', async (t) => {
  t.equal(quantile({ bounds: BOUNDS, counts: [0, 0, 0, 0] }, 0.5), null, 'nothing observed')
  t.equal(quantile({ bounds: [], counts: [] }, 0.5), null, 'no series yet')
  t.equal(quantile({ bounds: BOUNDS, counts: [10, 10, 10, 10] }, 0.5), 5, 'half of 0–10 ms')
  t.equal(quantile({ bounds: BOUNDS, counts: [50, 100, 100, 100] }, 0.99), 98.2, '10–100 ms')
  t.equal(quantile({ bounds: BOUNDS, counts: [0, 0, 0, 4] }, 0.5), 1000, 'beyond the last bound')
})

const vitals = (v: Partial<Vitals>): Vitals => ({
  accepted: 0,
  stored: 0,
  duplicates: 0,
  failed: 0,
  errors: new Map(),
  request: { bounds: [], counts: [] },
  commit: { bounds: [], counts: [] },
  inFlight: 0,
  queued: 0,
  queueMax: 10,
  heldBytes: 0,
  heldMaxBytes: 100,
  ...v,
})

t.test('rates are per second over the interval; a histogram first seen counts whole', async (t) => {
  const before = vitals({ accepted: 100, failed: 1, errors: new Map([['queue_full', 3]]) })
  const now = vitals({
    accepted: 300,
    failed: 5,
    errors: new Map([
      ['queue_full', 3],
      ['body_too_large', 4],
    ]),
    request: { bounds: BOUNDS, counts: [2, 2, 2, 2] },
    inFlight: 9,
  })
  t.match(pulse(5000, 2, now, before), {
    at: 5000,
    received: 100,
    failed: 2,
    errors: { '413 body_too_large': 2 },
    request_p50: 5,
    commit_p50: null,
    in_flight: 9,
    queue_max: 10,
  })
})
