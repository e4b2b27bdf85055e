/**
 * The `scale` profile run for real through the Docker API: HAProxy in front of three replicas on
 * one PostgreSQL. Healthy, publishing through HAProxy, one replica stopped with SIGTERM under
 * load: no acknowledged event lost, counts exact. Needs an engine (`DOCKER_HOST`, see
 * ../shared/containers) and the stand-ins for node:24-trixie-slim, postgres:16 and haproxy:3.0.
 */
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { get, type StatsBody } from '../support/client.js'
import { startLoad } from '../support/load.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const project = `agg-scale-${process.pid}-${Date.now().toString(36)}`

function docker(args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'docker',
      args,
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 ** 2, timeout: 900_000 },
      (error, stdout, stderr) => {
        if (error === null) resolve(stdout)
        else reject(new Error(`docker ${args.join(' ')}: ${error.message}\n${stderr}${stdout}`))
      },
    )
  })
}

const port = await new Promise<number>((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number }
    server.close(() => resolve(port))
  })
})
const url = `http://127.0.0.1:${port}`
// the replicas' image under a tag of this run's own: other stacks on the engine build the
// compose file's tag from their own checkouts
const override = path.join(os.tmpdir(), `${project}.yml`)
await writeFile(override, `services:\n  replica:\n    image: pubsub-aggregator:${project}\n`)
const files = ['-f', path.join(ROOT, 'docker-compose.yml'), '-f', override]
const compose = (args: string[]) =>
  docker(['compose', '-p', project, ...files, '--profile', 'scale', ...args], {
    SCALE_PORT: String(port),
  })

/** SQL in the storage container: its port is published nowhere. */
async function psql(query: string): Promise<string> {
  const sql = ['exec', '-T', 'storage', 'psql', '-U', 'aggregator', '-d', 'aggregator', '-tAc']
  return (await compose([...sql, query])).trim()
}

async function until(what: string, done: () => Promise<boolean>, ms = 180_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await done().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s: ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

t.teardown(async () => {
  await compose(['down', '-v', '-t', '10', '--remove-orphans', '--rmi', 'local']).catch(() => '')
  await docker(['rmi', `pubsub-aggregator:${project}`]).catch(() => '')
})

t.test(
  'three replicas behind HAProxy: one stopped with SIGTERM under load loses nothing',
  async (t) => {
    await compose(['up', '-d', '--build', 'balancer'])
    const replicas = (await compose(['ps', '-q', 'replica'])).trim().split('\n')
    t.equal(replicas.length, 3, 'three replicas')
    // HAProxy serves once its resolver found their addresses and two checks passed
    await until(
      'HAProxy has a replica in rotation',
      async () => {
        return (await get(url, '/readyz')).status === 200
      },
      600_000,
    )

    const load = startLoad(url, { concurrency: 4, batch: 20, topic: 'scale', resend: true })
    await until('1000 events acknowledged', () => Promise.resolve(load.acked.length >= 1000))
    // /readyz answered through one replica: a replica slow to start joins HAProxy's rotation
    // later (its address resolved, then two good checks), so the load runs until each has stored
    // batches, bounded by `until`
    const storedBatches = async (id: string) => /batch committed/.test(await docker(['logs', id]))
    await until('every replica stored batches', async () =>
      (await Promise.all(replicas.map(storedBatches))).every(Boolean),
    )
    for (const id of replicas) {
      t.ok(
        await storedBatches(id),
        `replica ${id.slice(0, 12)} stored batches: HAProxy spreads the load`,
      )
    }
    const [stopped] = replicas
    // the grace period in seconds: under podman a stop without one kills at once
    await docker(['stop', '-t', '30', stopped!])
    const exit = (await docker(['inspect', '-f', '{{.State.ExitCode}}', stopped!])).trim()
    t.equal(exit, '0', 'the stopped replica drained and exited 0')
    const afterStop = load.acked.length
    await until('1000 more on the two left', () =>
      Promise.resolve(load.acked.length >= afterStop + 1000),
    )
    await load.stop()

    const statuses = Object.fromEntries([...load.statuses].map(([s, n]) => [String(s), n]))
    t.comment(`client answers: ${JSON.stringify(statuses)}`)
    t.same(
      Object.keys(statuses).filter((s) => s !== '200' && s !== '503'),
      [],
      'acknowledgements and retryable 503s only',
    )
    const stored = new Set(
      (await psql(`SELECT event_id FROM events WHERE topic = 'scale'`)).split('\n'),
    )
    t.same(
      load.acked.filter((e) => !stored.has(e.event_id)),
      [],
      `all ${load.acked.length} acknowledged events are stored`,
    )
    const total = stored.size
    let stats: StatsBody | null = null
    await until('/stats with nothing in flight', async () => {
      stats = (await get<StatsBody>(url, '/stats')).body
      return stats.in_flight === 0
    })
    t.equal(stats!.unique_processed, total, '/stats through HAProxy counts what PostgreSQL holds')
    t.equal(stats!.topic_counts.scale, total)
  },
)
