/** The route table and what is derived from it: 405 answers, the API document, the policies. */
import t from 'tap'
import { ERRORS, type ErrorCode } from '../../src/errors.js'
import { openApiDocument } from '../../src/http/openapi.js'
import { isSocket } from '../../src/http/route.js'
import { ALLOWED, ROUTES } from '../../src/http/routes.js'

interface Answer {
  content?: Record<string, { schema?: { properties?: { error?: { enum?: ErrorCode[] } } } }>
}

const document = openApiDocument(ROUTES, '0.0.0-test') as {
  paths: Record<string, Record<string, { responses: Record<string, Answer> }>>
}

/** The error codes the document lists for one operation, by status. */
function documentedErrors(path: string, method: string): Record<string, ErrorCode[]> {
  const errors: Record<string, ErrorCode[]> = {}
  for (const [status, answer] of Object.entries(document.paths[path]![method]!.responses)) {
    const codes = answer.content?.['application/json']?.schema?.properties?.error?.enum
    if (codes !== undefined) errors[status] = codes
  }
  return errors
}

t.test('every route has a method, a path, a metrics label and its policies', async (t) => {
  for (const route of ROUTES) {
    const name = `${route.method} ${route.path}`
    t.match(route.method, /^(GET|POST)$/, name)
    t.match(route.path, /^\//, name)
    t.match(route.label, /^[a-z_]+$/, `${name} has a fixed label`)
    t.match(route.auth, /^(publish|read|open)$/, name)
    t.match(route.origin, /^(same|any)$/, name)
    t.match(route.whileClosing, /^(refuse|serve)$/, name)
  }
})

t.test('a method and path appear in the table once', async (t) => {
  const keys = ROUTES.map((r) => `${r.method} ${r.path}`)
  t.same([...new Set(keys)], keys)
})

t.test('405 answers name the methods the table routes, for exact paths only', async (t) => {
  t.equal(ALLOWED.get('/publish'), 'POST')
  t.equal(ALLOWED.get('/stats'), 'GET')
  t.equal(ALLOWED.get('/live'), 'GET')
  t.equal(ALLOWED.get('/docs/*'), undefined, 'a pattern names no resource of its own')
  t.same(
    [...ALLOWED.keys()].sort(),
    [...new Set(ROUTES.map((r) => r.path).filter((p) => !p.endsWith('*')))].sort(),
  )
})

t.test('the API document’s paths are the table’s, less the /docs assets', async (t) => {
  t.same(
    Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    ),
    ROUTES.filter((r) => r.openapi !== null).map((r) => `${r.method} ${r.path}`),
  )
  t.same(
    ROUTES.filter((r) => r.openapi === null).map((r) => r.path),
    ['/docs/*'],
  )
})

t.test(
  'each operation documents the codes its handler and its policies answer, by status',
  async (t) => {
    t.same(documentedErrors('/health', 'get'), {}, 'a health check refuses nothing')
    t.same(documentedErrors('/metrics', 'get'), {
      '401': ['unauthorized'],
      '500': ['internal'],
      '503': ['shutting_down'],
    })
    t.same(documentedErrors('/events', 'get'), {
      '400': ['invalid_query', 'invalid_cursor'],
      '401': ['unauthorized'],
      '503': ['database_unavailable', 'shutting_down'],
    })
    t.same(documentedErrors('/live', 'get')['403'], ['forbidden_origin'])
    const publish = documentedErrors('/publish', 'post')
    t.same(publish['403'], ['forbidden_origin'])
    t.same(publish['503'], ['queue_full', 'store_unavailable', 'ack_timeout', 'shutting_down'])
    t.same(publish['413'], ['body_too_large', 'body_too_complex', 'too_many_events'])
    for (const [status, codes] of Object.entries(publish)) {
      for (const code of codes) t.equal(String(ERRORS[code].status), status, code)
    }
  },
)

t.test('only the health checks are served while the server closes', async (t) => {
  t.same(
    ROUTES.filter((r) => r.whileClosing === 'serve').map((r) => r.path),
    ['/health', '/healthz', '/readyz'],
  )
})

t.test(
  'foreign pages are refused where they could act without reading an answer: publishes and /live',
  async (t) => {
    t.same(
      ROUTES.filter((r) => r.origin === 'same').map((r) => `${r.method} ${r.path}`),
      ['POST /publish', 'POST /publish/batch', 'GET /live'],
    )
  },
)

t.test(
  '/live is the one WebSocket route, and it reads like /stats: with the read token',
  async (t) => {
    t.same(
      ROUTES.filter(isSocket).map((r) => [r.path, r.auth]),
      [['/live', 'read']],
    )
    t.same(
      ROUTES.filter((r) => r.auth === 'read').map((r) => r.path),
      ['/events', '/events/stream', '/stats', '/topics', '/live', '/metrics'],
    )
  },
)
