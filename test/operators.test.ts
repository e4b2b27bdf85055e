/** Prometheus metrics, the OpenAPI document generated from the edge's schemas, and /docs. */
import t from 'tap'
import { VERSION as version } from '../src/version.js'
import * as v from 'valibot'
import { ROUTES } from '../src/http/routes.js'
import { EventSchema } from '../src/ingest/event.js'
import { startApp } from './support/app.js'
import { event, post } from './support/client.js'
import { testDatabase } from './support/database.js'

const db = await testDatabase(t)
const { url } = await startApp(t, { DATABASE_URL: db.url, SHARDS: '2' })

const metric = (text: string, name: string) => {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '))
  return line === undefined ? NaN : Number(line.split(' ').at(-1))
}
const labelled = (text: string, name: string, labels: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`))
  return line === undefined ? NaN : Number(line.split(' ').at(-1))
}

t.test('/metrics exposes counters, histograms and gauges that follow the traffic', async (t) => {
  const e = event({ topic: 'metrics' })
  await post(url, '/publish', [e, e, event({ topic: 'metrics' })])
  await post(url, '/publish', { topic: 'metrics' })
  const res = await fetch(`${url}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  t.equal(metric(text, 'aggregator_events_received_total'), 3)
  t.equal(metric(text, 'aggregator_events_stored_total'), 2)
  t.equal(metric(text, 'aggregator_events_duplicate_total'), 1)
  t.equal(labelled(text, 'aggregator_events_rejected_total', 'reason="validation"'), 1)
  t.equal(labelled(text, 'aggregator_http_responses_total', 'route="publish",status="200"'), 1)
  t.equal(labelled(text, 'aggregator_http_responses_total', 'route="publish",status="422"'), 1)
  t.ok(
    metric(text, 'aggregator_batch_commit_duration_seconds_count') >= 1,
    'batch latency observed',
  )
  t.ok(metric(text, 'aggregator_batch_events_sum') >= 3)
  t.ok(labelled(text, 'aggregator_http_request_duration_seconds_count', 'route="publish"') === 2)
  t.equal(labelled(text, 'aggregator_queue_depth_events', 'shard="0"'), 0)
  t.equal(metric(text, 'aggregator_in_flight_events'), 0)
  t.match(text, /aggregator_process_cpu_seconds_total \d/, 'process metrics')
  t.match(text, /aggregator_nodejs_heap_size_used_bytes \d/)
})

t.test('/metrics counts a 405 apart from a 404, and carries the version', async (t) => {
  const before = await (await fetch(`${url}/metrics`)).text()
  const count = (text: string, labels: string) =>
    labelled(text, 'aggregator_http_responses_total', labels) || 0
  for (const path of ['/nowhere', '/publish', '/publish', '/live']) {
    await (await fetch(url + path)).arrayBuffer()
  }
  const after = await (await fetch(`${url}/metrics`)).text()
  const delta = (labels: string) => count(after, labels) - count(before, labels)
  t.equal(delta('route="not_found",status="404"'), 1, 'a path no route has')
  t.equal(delta('route="method_not_allowed",status="405"'), 2, 'a method a known path refuses')
  t.equal(delta('route="live",status="426"'), 1, 'a WebSocket fetched as a page, under its route')
  t.equal(labelled(after, 'aggregator_build_info', `version="${version}"`), 1)
  t.equal(metric(after, 'aggregator_database_up'), 1, 'the database answers')
  t.equal(metric(after, 'aggregator_queue_fill_ratio'), 0, 'the queues are empty')
})

t.test('the OpenAPI document lists every route the server answers', async (t) => {
  const res = await fetch(`${url}/openapi.json`)
  t.equal(res.status, 200)
  const doc = (await res.json()) as {
    openapi: string
    paths: Record<string, Record<string, unknown>>
    components: {
      schemas: { Event: { properties: Record<string, unknown> } }
    }
  }
  t.match(doc.openapi, /^3\./)
  for (const { path, method, openapi } of ROUTES) {
    if (openapi === null) continue
    t.ok(doc.paths[path]?.[method.toLowerCase()], `${method} ${path} is documented`)
  }
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const method of Object.keys(operations)) {
      const answered = await fetch(url + path, {
        method: method.toUpperCase(),
        ...(method === 'post' ? { body: new TextEncoder().encode('[]') } : {}),
      })
      // the status is the point; a stream's body never ends
      await answered.body?.cancel()
      t.not(answered.status, 404, `${method.toUpperCase()} ${path} is answered`)
      t.not(answered.status, 405)
    }
  }
  t.same(Object.keys(doc.components.schemas.Event.properties), [
    'topic',
    'event_id',
    'timestamp',
    'source',
    'payload',
  ])
})

t.test('the documented examples are events the edge accepts', async (t) => {
  const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
    paths: Record<string, { post?: { requestBody: { content: Record<string, Example> } } }>
    components: { schemas: { Event: Example & { examples?: unknown } } }
  }
  const event = doc.components.schemas.Event
  t.equal(event.examples, undefined, 'no `examples`: OpenAPI 3.0 does not know it')
  t.ok(v.safeParse(EventSchema, event.example).success, 'the event example validates')
  t.equal((await post(url, '/publish', event.example)).status, 200, 'and is accepted')
  // what Swagger UI's "Try it out" sends: each body format's own example
  for (const path of ['/publish', '/publish/batch']) {
    const bodies = Object.entries(doc.paths[path]?.post?.requestBody.content ?? {})
    t.same(
      bodies.map(([type]) => type),
      ['application/json', 'application/x-ndjson'],
    )
    for (const [type, { example }] of bodies) {
      const body = typeof example === 'string' ? example : JSON.stringify(example)
      t.notMatch(body, /"string"/, `${path} ${type}: a real event, not a placeholder`)
      const res = await fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      })
      t.equal(res.status, 200, `${path} ${type}: the example is accepted`)
      t.match(await res.json(), { accepted: 1 })
    }
  }
})

interface Example {
  example?: unknown
}

t.test('/docs serves Swagger UI from the installed package, no CDN', async (t) => {
  const page = await fetch(`${url}/docs`)
  t.equal(page.status, 200)
  const html = await page.text()
  t.notMatch(html, /https?:\/\//, 'no external URL')
  for (const asset of ['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/init.js']) {
    t.match(html, asset)
    const res = await fetch(url + asset)
    t.equal(res.status, 200, asset)
    t.ok((await res.arrayBuffer()).byteLength > 0)
  }
  t.equal((await fetch(`${url}/docs/nope.js`)).status, 404)
})
