/** The benchmark scenarios (all with 20% duplicates), at full size and at the tiny test size. */
export interface Scenario {
  id: string
  title: string
  eventsPerRequest: number
  ack: 'durable' | 'async'
  connections: number
  requests?: number
  durationS?: number
  /** Rows already in the table before the run. */
  preload?: number
  /** Seconds of load before latency is measured (paced runs only). */
  warmupS?: number
  /** As many requests as another scenario's measured rate sends in this many seconds. */
  requestsFor?: { scenario: string; seconds: number }
  /** Run at this share of another scenario's measured requests/s. */
  rateOf?: { scenario: string; share: number }
  /** Dashboards open on `/live` for the whole run. */
  viewers?: number
  /** False for a reference that stores nothing (the HTTP floor): only its counts are checked. */
  stores?: false
}

export const DUPLICATES = 0.2

export function scenarios(quick: boolean): Scenario[] {
  const size = (full: number, tiny: number) => (quick ? tiny : full)
  return [
    {
      id: '1',
      title: 'batches of 100, durable',
      eventsPerRequest: 100,
      ack: 'durable',
      connections: 32,
      requests: size(6000, 20),
    },
    {
      id: '1+dash',
      title: 'batches of 100, durable, 5 dashboards open',
      eventsPerRequest: 100,
      ack: 'durable',
      connections: 32,
      requests: size(6000, 20),
      viewers: 5,
    },
    {
      id: '2',
      title: 'single events, durable',
      eventsPerRequest: 1,
      ack: 'durable',
      connections: 200,
      requests: size(60_000, 300),
    },
    {
      id: '2½',
      title: 'single events, durable, at half of 2’s rate',
      eventsPerRequest: 1,
      ack: 'durable',
      connections: 200,
      durationS: size(15, 1),
      rateOf: { scenario: '2', share: 0.5 },
      warmupS: size(3, 0.5),
    },
    {
      id: '3',
      title: 'single events, ack=async',
      eventsPerRequest: 1,
      ack: 'async',
      connections: 200,
      requests: size(80_000, 300),
    },
    {
      id: '4',
      title: 'batches of 1,000, durable',
      eventsPerRequest: 1000,
      ack: 'durable',
      connections: 8,
      requests: size(300, 4),
    },
    {
      id: '5',
      title: 'sustained 60 s of 1 on 5M stored events',
      eventsPerRequest: 100,
      ack: 'durable',
      connections: 32,
      requestsFor: { scenario: '1', seconds: size(60, 0.1) },
      preload: size(5_000_000, 2000),
    },
  ]
}

/** The naive design, under the loads it is compared with. */
export function naiveLoads(quick: boolean): Scenario[] {
  const size = (full: number, tiny: number) => (quick ? tiny : full)
  return [
    {
      id: 'naive-100',
      title: 'naive: batches of 100',
      eventsPerRequest: 100,
      ack: 'async',
      connections: 32,
      requests: size(400, 10),
    },
    {
      id: 'naive-1',
      title: 'naive: single events',
      eventsPerRequest: 1,
      ack: 'async',
      connections: 200,
      requests: size(20_000, 200),
    },
  ]
}

/**
 * Scenario 2's load against the HTTP floor (bench/baselines/http-floor.ts): what a single-event
 * request costs before anything of the aggregator's own.
 */
export function floorLoad(quick: boolean): Scenario {
  return {
    id: 'floor-1',
    title: 'HTTP floor: single events, parsed and answered, nothing stored',
    eventsPerRequest: 1,
    ack: 'durable',
    connections: 200,
    requests: quick ? 300 : 60_000,
    stores: false,
  }
}

/** The load each generator sends to show its own cost per request: single events, async. */
export function generatorLoad(quick: boolean, generator: string): Scenario {
  return {
    id: `gen-${generator}`,
    title: `single events, ack=async, sent by ${generator}`,
    eventsPerRequest: 1,
    ack: 'async',
    connections: 200,
    requests: quick ? 200 : 40_000,
  }
}
