/**
 * The HTTP floor, a reference for the single-event path: what taking a publish and answering it
 * costs on this machine with the aggregator's server (uWebSockets.js, the same build) and
 * nothing else but `JSON.parse` of the body. Each answer is written on a later turn of the event
 * loop, with the requests that arrived meanwhile, as a commit wakes its waiting requests. It
 * stores nothing: `/stats` counts every event received as dropped, so its counts stay whole.
 */
import type { HttpResponse } from 'uWebSockets.js'
import { loadUws } from '../../src/uws.js'

const { module: uws } = loadUws()
const app = uws.App()
const ANSWER = JSON.stringify({ status: 'stored', accepted: 1, unique: 1, duplicates: 0 })
let received = 0
/** Requests whose body has arrived, answered together on the next turn. */
let waiting: HttpResponse[] = []
const aborted = new WeakSet<HttpResponse>()

function answerWaiting(): void {
  const now = waiting
  waiting = []
  for (const res of now) {
    if (aborted.has(res)) continue
    res.cork(() =>
      res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(ANSWER),
    )
  }
}

app.post('/publish', (res) => {
  res.onAborted(() => aborted.add(res))
  const chunks: Buffer[] = []
  res.onData((chunk, last) => {
    // uWS reuses the chunk's memory once this callback returns
    chunks.push(Buffer.from(chunk.slice(0)))
    if (!last) return
    const body = JSON.parse(Buffer.concat(chunks).toString()) as unknown
    received += Array.isArray(body) ? body.length : 1
    if (waiting.push(res) === 1) setImmediate(answerWaiting)
  })
})
app.get('/stats', (res) => {
  const stats = { received, unique_processed: 0, duplicate_dropped: received, in_flight: 0 }
  res.writeHeader('Content-Type', 'application/json').end(JSON.stringify(stats))
})

app.listen(process.env.HOST ?? '127.0.0.1', Number(process.env.PORT ?? 0), (socket) => {
  if (socket === false) throw new Error('the HTTP floor could not listen')
  const port = uws.us_socket_local_port(socket)
  process.stdout.write(JSON.stringify({ msg: 'listening (HTTP floor)', port }) + '\n')
})
process.on('SIGTERM', () => {
  app.close()
  process.exit(0)
})
