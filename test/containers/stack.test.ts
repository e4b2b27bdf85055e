/**
 * The image and the compose stack, run for real through the Docker API (`npm run
 * test:containers`): the Dockerfile and docker-compose.yml as they are, checked against what the
 * README and docs/operations.md promise.
 */
import { readFile } from 'node:fs/promises'
import t from 'tap'
import type { Summary } from '../../src/publisher/run.js'
import { event, post, stats } from '../support/client.js'
import { startLoad } from '../support/load.js'
import { freePort } from '../support/postgres.js'
import { composeProject, docker, inspect } from './support.js'

const hostPort = await freePort()
const url = `http://127.0.0.1:${hostPort}`
const stack = composeProject(t, 'agg-stack', { env: { HOST_PORT: String(hostPort) } })
const config = await stack.config()

/** Healthy, and answering on the published port: a restarted container may show its old status. */
async function serving(): Promise<void> {
  await stack.healthy('aggregator')
  for (;;) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    )
    if (ready) return
    await new Promise((r) => setTimeout(r, 1000))
  }
}
const image = config.services.aggregator?.image ?? ''

/** SQL run in the storage container: its port is published nowhere. */
async function psql(query: string): Promise<string> {
  const { stdout } = await stack.compose([
    'exec',
    '-T',
    'storage',
    'psql',
    '-U',
    'aggregator',
    '-d',
    'aggregator',
    '-tAc',
    query,
  ])
  return stdout.trim()
}

t.test(
  'the image builds through the API, as the node user, one uWebSockets.js binary',
  async (t) => {
    const started = Date.now()
    await stack.compose(['build', 'aggregator'], { timeoutMs: 900_000 })
    const bytes = Number(await inspect('image', image, '{{.Size}}'))
    t.comment(
      `image ${image}: ${(bytes / 1e6).toFixed(1)} MB (built in ${Math.round((Date.now() - started) / 1000)} s)`,
    )
    t.equal(await inspect('image', image, '{{.Config.User}}'), 'node')
    const binaries = await docker([
      'run',
      '--rm',
      '--entrypoint',
      'find',
      image,
      'node_modules',
      '-name',
      '*.node',
    ])
    t.same(
      binaries.stdout.trim().split('\n'),
      ['node_modules/uWebSockets.js/uws_linux_x64_137.node'],
      'one uWebSockets.js binary: the one Node 24 loads',
    )
  },
)

t.test("the stack comes up healthy through the image's own HEALTHCHECK", async (t) => {
  await stack.compose(['up', '-d'], { timeoutMs: 600_000 })
  await stack.healthy('aggregator')
  const aggregator = await stack.container('aggregator')
  // podman's Docker API leaves Healthcheck out of an image's inspect, not a container's
  t.match(
    JSON.parse(await inspect('container', aggregator, '{{json .Config.Healthcheck.Test}}')),
    ['CMD', 'node', '-e', /\/readyz/],
    "the image's check: the compose file sets none for the aggregator",
  )
  const log = JSON.parse(await inspect('container', aggregator, '{{json .State.Health.Log}}')) as {
    ExitCode: number
  }[]
  t.ok(
    log.some((check) => check.ExitCode === 0),
    'the check ran in the container and passed',
  )
  const { stdout } = await docker(['logs', aggregator])
  const started = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((line) => String(line.msg).startsWith('listening'))
  t.match(
    started,
    { uws: '@btc-vision/uwebsockets.js@20.57.0 (uws_linux_x64_137.node)' },
    'the native build for Node 24 runs',
  )
})

t.test('publish and stats answer through the published port', async (t) => {
  const reply = await post(url, '/publish', [event({ topic: 'stack.port' })])
  t.equal(reply.status, 200)
  t.match(await stats(url), { topic_counts: { 'stack.port': 1 } })
})

t.test('storage publishes no port, and its network is internal', async (t) => {
  const storage = await stack.container('storage')
  for (const field of ['.HostConfig.PortBindings', '.NetworkSettings.Ports']) {
    const ports = JSON.parse(await inspect('container', storage, `{{json ${field}}}`)) as Record<
      string,
      unknown[] | null
    >
    t.ok(
      Object.values(ports).every((bindings) => bindings === null || bindings.length === 0),
      `no host port in ${field}: ${JSON.stringify(ports)}`,
    )
  }
  const networks = Object.keys(
    JSON.parse(await inspect('container', storage, '{{json .NetworkSettings.Networks}}')) as object,
  )
  t.same(networks, [config.networks.internal?.name], 'on the internal network only')
  t.equal(await inspect('network', config.networks.internal!.name, '{{.Internal}}'), 'true')
})

t.test('the aggregator runs as the unprivileged node user, node itself PID 1', async (t) => {
  const aggregator = await stack.container('aggregator')
  // the container's PID 1 as the host sees it: rootful podman maps no user namespace
  const pid = await inspect('container', aggregator, '{{.State.Pid}}')
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean)
  t.same(cmdline, ['node', 'dist/src/main.js'], 'PID 1 is node, no shell in between')
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  t.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m, 'uid 1000 (node), not root')
  const { stdout } = await stack.compose(['exec', '-T', 'aggregator', 'cat', '/proc/1/cmdline'])
  t.same(stdout.split('\0').filter(Boolean), ['node', 'dist/src/main.js'], 'PID 1 inside it')
})

t.test("the demo publisher's counts are exact", async (t) => {
  const before = await stats(url)
  const name = `${stack.name}-demo`
  // not --rm: podman's API loses the exit code of a removed container
  await stack.compose(
    ['--profile', 'demo', 'run', '--name', name, 'publisher', '--seed', '7', '--json'],
    {
      check: false,
      timeoutMs: 600_000,
    },
  )
  const exitCode = await inspect('container', name, '{{.State.ExitCode}}')
  const { stdout } = await docker(['logs', name])
  await docker(['rm', name])
  t.equal(exitCode, '0', `the publisher exits 0: ${stdout}`)
  const summary = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Summary
  t.match(summary, { sent: 20_000, acknowledged: 20_000, problems: [] })
  t.equal(summary.stats_delta.received, 20_000)
  t.equal(summary.stats_delta.unique_processed, summary.expected_unique)
  t.equal(summary.stats_delta.duplicate_dropped, 20_000 - summary.expected_unique)
  const after = await stats(url)
  t.equal(after.unique_processed - before.unique_processed, summary.expected_unique)
  t.equal(
    Number(await psql('SELECT count(*) FROM events')),
    after.unique_processed,
    'stored in PostgreSQL as counted',
  )
})

t.test(
  'docker compose stop: SIGTERM, and every event acknowledged with 202 is stored',
  async (t) => {
    const aggregator = await stack.container('aggregator')
    const load = startLoad(url, {
      concurrency: 8,
      batch: 200,
      topic: 'stack.stop',
      query: '?ack=async',
    })
    while (load.acked.length < 5000) await new Promise((r) => setTimeout(r, 100))
    await stack.compose(['stop', 'aggregator'], { timeoutMs: 120_000 })
    await load.stop()
    t.equal(await inspect('container', aggregator, '{{.State.ExitCode}}'), '0', 'drained, exit 0')
    const { stdout } = await docker(['logs', aggregator])
    t.match(stdout, /"signal":"SIGTERM".*"msg":"shutting down/, 'the signal was SIGTERM')
    t.match(stdout, /"msg":"stopped cleanly"/)
    const acked = new Set(load.acked.map((e) => e.event_id))
    t.ok(acked.size >= 5000, `${acked.size} events acknowledged with 202 before the stop`)
    const stored = new Set(
      (await psql("SELECT event_id FROM events WHERE topic = 'stack.stop'")).split('\n'),
    )
    t.same(
      [...acked].filter((id) => !stored.has(id)),
      [],
      'every one stored',
    )
    await stack.compose(['start', 'aggregator'])
    await serving()
  },
)

t.test('data survives down and up; down -v removes it', async (t) => {
  const before = await stats(url)
  t.ok(before.unique_processed > 0)
  await stack.compose(['down', '-t', '10'], { timeoutMs: 120_000 })
  await stack.compose(['up', '-d'], { timeoutMs: 600_000 })
  await serving()
  t.match(
    await stats(url),
    { unique_processed: before.unique_processed, duplicate_dropped: before.duplicate_dropped },
    'the counts and events are back',
  )
  const volume = config.volumes.pgdata!.name
  await stack.compose(['down', '-v', '-t', '10'], { timeoutMs: 120_000 })
  const left = await docker(['volume', 'ls', '-q', '--filter', `name=${volume}`])
  t.equal(left.stdout.trim(), '', `${volume} is gone`)
  await stack.compose(['up', '-d'], { timeoutMs: 600_000 })
  await serving()
  t.match(await stats(url), { unique_processed: 0 }, 'a new stack starts empty')
})
