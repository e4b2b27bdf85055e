/**
 * A proxy in front of the app that misbehaves on request: it answers `503` + `Retry-After`
 * itself, drops the connection, or forwards a request and then loses the answer (the events are
 * stored, the client is told `503`). It records what each request carried, to check batching
 * and gzip from the outside.
 */
import { once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import type { Test } from 'tap'

/** What the proxy does with the n-th request (from 0). */
export type Fault =
  | 'forward'
  | { status: number; retryAfter?: string }
  /** Close the connection without an answer. */
  | 'drop'
  /** Forward it (the server stores it), then answer 503 as if the answer were lost. */
  | 'lose-answer'

export interface SeenRequest {
  at: number
  path: string
  encoding: string | undefined
  authorization: string | undefined
  /** Events in the body, inflated when gzip. */
  events: number
  /** What the client got: a status, or `drop`. */
  answered: number | 'drop'
}

export interface FaultProxy {
  url: string
  requests: SeenRequest[]
}

export async function startFaultProxy(
  t: Test,
  target: string,
  fault: (n: number) => Fault,
): Promise<FaultProxy> {
  const requests: SeenRequest[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const encoding = req.headers['content-encoding']
      const json = encoding === 'gzip' ? gunzipSync(body) : body
      const seen: SeenRequest = {
        at: Date.now(),
        path: req.url ?? '',
        encoding,
        authorization: req.headers.authorization,
        events: json.length === 0 ? 0 : (JSON.parse(json.toString()) as unknown[]).length,
        answered: 'drop',
      }
      const plan = fault(requests.length)
      requests.push(seen)
      void act(plan, req, res, body, target, seen)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

async function act(
  plan: Fault,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
  target: string,
  seen: SeenRequest,
): Promise<void> {
  if (plan === 'drop') {
    req.socket.destroy()
    return
  }
  if (typeof plan === 'object') {
    seen.answered = plan.status
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (plan.retryAfter !== undefined) headers['retry-after'] = plan.retryAfter
    res.writeHead(plan.status, headers)
    res.end(JSON.stringify({ error: 'injected', message: `injected ${plan.status}` }))
    return
  }
  const headers: Record<string, string> = {}
  for (const name of ['content-type', 'content-encoding', 'authorization']) {
    const value = req.headers[name]
    if (typeof value === 'string') headers[name] = value
  }
  const upstream = await fetch(target + (req.url ?? ''), {
    method: req.method ?? 'GET',
    headers,
    body: req.method === 'GET' ? undefined : body,
  })
  const text = await upstream.text()
  if (plan === 'lose-answer') {
    seen.answered = 503
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' })
    res.end(JSON.stringify({ error: 'injected', message: 'the answer was lost' }))
    return
  }
  seen.answered = upstream.status
  res.writeHead(upstream.status, { 'content-type': 'application/json' })
  res.end(text)
}
