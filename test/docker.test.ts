/**
 * The image and the compose stack, checked without a Docker engine (the development machine has
 * none): Dockerfile and docker-compose.yml are parsed and linted, then the commands their
 * containers run are run here as processes, with the image's environment, against PostgreSQL.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { access, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as dclint from 'dclint'
import { DockerfileParser, type From, type ImageTemplate } from 'dockerfile-ast'
import t, { type Test } from 'tap'
import { parse } from 'yaml'
import { ConfigSchema, loadConfig } from '../src/config.js'
import type { Summary } from '../src/publisher/run.js'
import { startProcess, type Aggregator } from './support/aggregator.js'
import { storedEvents, testDatabase } from './support/database.js'

/** The repository: the build context, and the image's WORKDIR (/app). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CONFIG_KEYS = Object.keys(ConfigSchema.entries)

// --- the Dockerfile, by stage ---------------------------------------------------------------

const dockerfile = DockerfileParser.parse(await readFile(path.join(ROOT, 'Dockerfile'), 'utf8'))
const froms = dockerfile.getFROMs()
const stageOf = (from: From): ImageTemplate => dockerfile.getContainingImage(from.getRange().start)!
const stages = new Map(froms.map((from) => [from.getBuildStage(), stageOf(from)]))
const runtime = stageOf(froms.at(-1)!)
const keyword = (stage: ImageTemplate, word: string) =>
  stage.getInstructions().filter((i) => i.getKeyword() === word)
const argsOf = (stage: ImageTemplate, word: string) =>
  keyword(stage, word).map((i) => i.getArgumentsContent() ?? '')

/** An exec-form command (a JSON array of strings), as Docker reads it; anything else throws. */
function execForm(text: string): string[] {
  const argv = JSON.parse(text) as unknown
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string'))
    throw new Error(`not an exec-form command: ${text}`)
  return argv
}

const imageEnv = Object.fromEntries(
  runtime
    .getENVs()
    .flatMap((env) => env.getProperties().map((p) => [p.getName(), p.getValue() ?? ''])),
) as Record<string, string>
const imageCmd = execForm(argsOf(runtime, 'CMD').at(-1) ?? '')
const healthcheck = runtime.getHEALTHCHECKs().at(-1)
const healthcheckCmd = execForm(
  /^CMD\s+(\[.*\])\s*$/s.exec(healthcheck?.getArgumentsContent() ?? '')?.[1] ?? '',
)

// --- docker-compose.yml -----------------------------------------------------------------------

interface Service {
  image?: string
  build?: { context: string; target?: string }
  depends_on?: Record<string, { condition: string }>
  volumes?: string[]
  environment?: Record<string, string>
  ports?: string[]
  networks?: string[]
  command?: string[]
  entrypoint?: string[]
  restart?: string
  healthcheck?: { disable?: boolean; test?: string[] }
  profiles?: string[]
  pull_policy?: string
  stop_grace_period?: string
  deploy?: { replicas?: number | string }
}

interface Compose {
  name: string
  services: Record<string, Service>
  networks: Record<string, { internal?: boolean }>
  volumes: Record<string, unknown>
}

const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml')
// merge keys (`<<:`), as compose reads them: the replicas share the aggregator's environment
const compose = parse(await readFile(COMPOSE_FILE, 'utf8'), { merge: true }) as Compose
const { aggregator, publisher, storage, test: testService, replica, balancer } = compose.services

/** `${NAME:-default}` as compose reads it when NAME is not set: the default. */
function withDefaults(environment: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [
      key,
      String(value).replace(/\$\{\w+:-([^}]*)\}/g, '$1'),
    ]),
  )
}

const seconds = (duration = '') => Number(/^(\d+)s$/.exec(duration)?.[1] ?? NaN)

// --- the image --------------------------------------------------------------------------------

t.test('the image is built in two stages from Node 20 on Debian bookworm, pinned', async (t) => {
  t.ok(froms.length >= 2, `multi-stage: ${froms.length} FROM`)
  for (const from of froms) {
    const image = `${from.getImageName()}:${from.getImageTag()}`
    t.equal(from.getImageName(), 'node', `${image}: the official node image`)
    t.match(from.getImageTag(), /^20-bookworm(-slim)?$/, `${image}: major 20, bookworm, glibc`)
    t.notMatch(image, /latest|alpine/, `${image}: neither latest nor alpine`)
  }
  t.same([...stages.keys()], ['build', 'runtime'])
  const build = stages.get('build')!
  t.match(argsOf(build, 'RUN').join('\n'), /npm ci\b/, 'the build stage installs with npm ci')
  t.match(argsOf(build, 'RUN').join('\n'), /npm run build/, 'and compiles with npm run build')
})

t.test('the runtime stage has production dependencies and the compiled app only', async (t) => {
  const install = argsOf(runtime, 'RUN').find((run) => /npm ci\b/.test(run)) ?? ''
  t.match(install, /--omit=dev/, 'no dev dependencies (typescript, tap, ...)')
  t.match(install, /--ignore-scripts/, 'no install scripts: prepare would need tsc')
  const copied = runtime.getCOPYs().map((copy) => ({
    from: copy.getFromFlag()?.getValue() ?? null,
    args: copy.getArguments().map((a) => a.getValue()),
  }))
  t.ok(
    copied.some((c) => c.from === null && c.args.includes('package.json')),
    'package.json ("type": "module") is in the image',
  )
  const fromBuild = copied.filter((c) => c.from === 'build').map((c) => c.args[0])
  t.same(fromBuild, ['/app/dist/src', '/app/dist/workers'], 'the app and its worker threads')
  // what those folders hold once built: the image's CMD, the publisher, the shards' worker file
  for (const file of ['dist/src/main.js', 'dist/src/publisher/main.js', 'dist/workers/flush.js'])
    await t.resolves(access(path.join(ROOT, file)), `${file} is built into a copied folder`)
})

t.test('the image runs node in exec form as a non-root user, and checks /readyz', async (t) => {
  const user = argsOf(runtime, 'USER').at(-1)
  t.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `USER ${user}: not root`)
  t.same(argsOf(runtime, 'WORKDIR'), ['/app'])
  t.same(imageEnv, { NODE_ENV: 'production', PORT: '8080', HOST: '0.0.0.0' })
  t.ok(
    Object.keys(imageEnv).every((key) => key === 'NODE_ENV' || CONFIG_KEYS.includes(key)),
    'the ENV keys are configuration keys',
  )
  t.same(argsOf(runtime, 'EXPOSE'), [imageEnv.PORT], 'EXPOSE is the PORT the app listens on')
  t.same(imageCmd, ['node', 'dist/src/main.js'], 'exec-form CMD: no shell in between')
  t.equal(keyword(runtime, 'ENTRYPOINT').length, 0, 'the base image entrypoint execs the CMD')
  t.equal(runtime.getHEALTHCHECKs().length, 1)
  t.equal(healthcheckCmd[0], 'node', 'the check runs node: slim images have no curl')
  t.match(healthcheckCmd.join(' '), /\/readyz/)
  const flags = Object.fromEntries(healthcheck!.getFlags().map((f) => [f.getName(), f.getValue()]))
  t.ok(seconds(flags.timeout ?? '') > 0 && seconds(flags.interval ?? '') > 0, 'bounded, periodic')
})

t.test('.dockerignore keeps dependencies, output and local state out of the context', async (t) => {
  const lines = (await readFile(path.join(ROOT, '.dockerignore'), 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
  const ignored = new Set(lines.map((l) => l.replace(/^\*\*\//, '')))
  for (const entry of ['node_modules', 'dist', 'data', '.tap', 'coverage', '.git', 'bench/results'])
    t.ok(ignored.has(entry), `${entry} is ignored`)
  for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'workers'])
    t.notOk(ignored.has(needed), `${needed} is sent`)
})

// --- the compose file -------------------------------------------------------------------------

/** dclint's API as used here: its bundled types use extensionless imports NodeNext cannot follow. */
interface ComposeLinter {
  lintFiles(paths: string[], recursive: boolean): { errorCount: number; warningCount: number }[]
  formatResults(results: unknown[], formatter: string): Promise<string>
}

t.test('dclint, every rule on, finds no error and no warning in docker-compose.yml', async (t) => {
  // no level given for a rule = on, at its own level; the compose schema is always checked
  const Linter = dclint.DCLinter as unknown as new (options: object) => ComposeLinter
  const linter = new Linter({ rules: {}, quiet: true, debug: false, exclude: [] })
  const results = linter.lintFiles([COMPOSE_FILE], false)
  t.equal(results.length, 1, 'the file was linted')
  const report = await linter.formatResults(results, 'compact')
  t.same(
    results.map((r) => [r.errorCount, r.warningCount]),
    [[0, 0]],
    report,
  )
})

t.test(
  'storage publishes no port, sits on internal networks only, in a named volume',
  async (t) => {
    t.match(storage?.image, /^postgres:16(\.\d+)*-bookworm$/, 'official image, major 16')
    t.equal(storage?.ports, undefined, 'no published port')
    t.ok(storage?.networks?.length, 'on a network')
    for (const network of storage?.networks ?? [])
      t.equal(compose.networks[network]?.internal, true, `${network} is internal`)
    const [volume, target] = (storage?.volumes?.[0] ?? '').split(':')
    t.equal(target, '/var/lib/postgresql/data')
    t.ok(volume !== undefined && volume in compose.volumes, `${volume} is a named volume`)
    t.match(storage?.healthcheck?.test, ['CMD', 'pg_isready'])
    const check = storage?.healthcheck?.test?.join(' ') ?? ''
    t.match(check, /-U aggregator\b/)
    t.match(check, /-d aggregator\b/)
  },
)

t.test('the aggregator publishes 8080 and waits for a healthy storage', async (t) => {
  t.equal(aggregator?.build?.target, 'runtime')
  t.ok(stages.has(aggregator?.build?.target ?? null), 'a stage of the Dockerfile')
  t.match(aggregator?.image, /^[\w.-]+:\d/, 'tagged with a version')
  t.equal(aggregator?.pull_policy, 'build', 'built here, never pulled from a registry')
  t.ok(
    aggregator?.ports?.some((p) => p.endsWith(`:8080:${imageEnv.PORT}`)),
    `8080 published: ${aggregator?.ports?.join(', ')}`,
  )
  t.same(aggregator?.depends_on, { storage: { condition: 'service_healthy' } })
  t.ok(aggregator?.networks?.includes('internal'), 'reaches storage')
  t.ok(
    aggregator?.networks?.some((n) => compose.networks[n]?.internal !== true),
    'and a network with a route out, for the published port',
  )
  t.equal(aggregator?.restart, 'on-failure')
  t.equal(aggregator?.healthcheck, undefined, "the image's HEALTHCHECK applies")
})

t.test("the aggregator's environment is made of configuration keys, valid as given", async (t) => {
  const environment = aggregator?.environment ?? {}
  for (const key of Object.keys(environment))
    t.ok(CONFIG_KEYS.includes(key), `${key} is a configuration key`)
  for (const key of ['SHARDS', 'ACK_MODE', 'LOG_LEVEL', 'BATCH_MAX_EVENTS', 'QUEUE_MAX_EVENTS'])
    t.match(environment[key], new RegExp(`^\\$\\{${key}:-[^}]+\\}$`), `${key} has a default`)

  const config = loadConfig({ ...imageEnv, ...withDefaults(environment) })
  t.equal(config.SHARDS, 2)
  t.equal(config.ACK_MODE, 'durable')
  t.equal(config.AUTH_TOKENS, undefined, 'no token required: the demo publisher sends none')
  const url = new URL(config.DATABASE_URL ?? '')
  t.equal(url.hostname, 'storage', 'the database is the storage service')
  t.equal(url.port, '5432')
  const pg = withDefaults(storage?.environment)
  t.same(
    [url.username, url.password, url.pathname.slice(1)],
    [pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, pg.POSTGRES_DB],
    "storage's user, password and database",
  )
  t.ok(
    seconds(aggregator?.stop_grace_period) * 1000 > config.SHUTDOWN_TIMEOUT_MS,
    `stop_grace_period ${aggregator?.stop_grace_period} outlasts SHUTDOWN_TIMEOUT_MS`,
  )
})

t.test(
  'the scale profile: replicas of the aggregator, reachable only through HAProxy',
  async (t) => {
    t.same(replica?.profiles, ['scale'])
    t.same(balancer?.profiles, ['scale'])
    t.equal(replica?.image, aggregator?.image, "the aggregator's image")
    t.match(String(replica?.deploy?.replicas), /^\$\{REPLICAS:-\d+\}$/, 'REPLICAS of them')
    t.same(replica?.ports, undefined, 'no port of their own')
    t.same(replica?.networks, ['internal'], 'on the internal network only')
    const env = withDefaults(replica?.environment)
    for (const key of Object.keys(env))
      t.ok(CONFIG_KEYS.includes(key), `${key} is a configuration key`)
    const config = loadConfig({ ...imageEnv, ...env })
    t.equal(config.DATABASE_URL, loadConfig(withDefaults(aggregator?.environment)).DATABASE_URL)
    t.notOk(config.instanceId === 'aggregator', 'each replica names its own counter rows')
    t.ok(config.SHUTDOWN_DRAIN_MS > 0, 'a SIGTERM leaves the rotation first')
    t.ok(
      seconds(replica?.stop_grace_period) * 1000 > config.SHUTDOWN_TIMEOUT_MS,
      'stop_grace_period outlasts SHUTDOWN_TIMEOUT_MS',
    )
    t.same(balancer?.depends_on, { replica: { condition: 'service_started' } }, 'its checks judge')
    t.ok(balancer?.networks?.includes('internal') && balancer.networks.includes('public'))
    t.match(balancer?.ports?.[0], /^127\.0\.0\.1:/, "published on the host's loopback")
    const mount = balancer?.volumes?.[0]?.split(':') ?? []
    t.equal(mount[1], '/usr/local/etc/haproxy/haproxy.cfg', 'where the image reads its config')
    const cfg = await readFile(path.join(ROOT, mount[0] ?? ''), 'utf8')
    t.match(cfg, /server-template \S+ \S+ replica:8080 check resolvers/, 'servers by service name')
    t.match(cfg, /uri \/readyz ver HTTP\/1\.1/, 'checks /readyz in HTTP/1.1')
  },
)

t.test('the publisher and the test suite run only under their profiles', async (t) => {
  const always = Object.entries(compose.services).filter(([, s]) => s.profiles === undefined)
  t.same(always.map(([name]) => name).sort(), ['aggregator', 'storage'], 'what `up` starts')

  t.same(publisher?.profiles, ['demo'])
  t.equal(publisher?.image, aggregator?.image, "the aggregator's image")
  t.equal(publisher?.pull_policy, 'build')
  t.same(publisher?.depends_on, { aggregator: { condition: 'service_healthy' } })
  t.same(publisher?.entrypoint?.slice(0, 2), ['node', 'dist/src/publisher/main.js'])
  t.match(publisher?.entrypoint?.join(' '), /--url http:\/\/aggregator:8080$/)
  t.equal(publisher?.restart, 'no')
  t.equal(publisher?.healthcheck?.disable, true, 'no readiness check of its own port')

  t.same(testService?.profiles, ['testing'])
  t.equal(testService?.build?.target, 'build', 'the build stage: dev dependencies and sources')
  t.ok(stages.has('build'))
  t.same(testService?.command, ['npm', 'test'])
  t.same(testService?.depends_on, { storage: { condition: 'service_healthy' } })
  t.equal(
    testService?.environment?.DATABASE_URL,
    aggregator?.environment?.DATABASE_URL,
    'its databases go on storage',
  )
})

// --- the containers' commands, run here -------------------------------------------------------

const exits0 = (r: { code: number | null; stderr: string }) =>
  `exits 0${r.code === 0 ? '' : `: ${r.stderr}`}`

/** Runs a container command (`node …`) from the image's WORKDIR, the repository here. */
async function runCommand(argv: string[], env: Record<string, string> = {}) {
  const [command, ...args] = argv
  if (command !== 'node') throw new Error(`expected a node command: ${argv.join(' ')}`)
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout, stderr }
}

/** The publisher service: its entrypoint, then `command` (or what `run` put in its place). */
async function runPublisher(server: Aggregator, command: string[]) {
  const argv = [...(publisher?.entrypoint ?? []), ...command, '--json'].map((arg) =>
    arg === 'http://aggregator:8080' ? server.url : arg,
  )
  const { code, stdout, stderr } = await runCommand(argv)
  const summary = stdout.startsWith('{') ? (JSON.parse(stdout) as Summary) : null
  return { code, stderr: stderr || stdout, summary }
}

/** `--events N` in place of the service's 20,000, for a quick run. */
const fewer = (command: string[], events: string) =>
  command.map((arg, i) => (command[i - 1] === '--events' ? events : arg))

const db = await testDatabase(t)
/** The aggregator container's environment: the image's, then the service's defaults. */
const containerEnv = {
  ...imageEnv,
  ...withDefaults(aggregator?.environment),
  DATABASE_URL: db.url,
  // local and on a free port here; the container listens on 0.0.0.0:8080
  HOST: '127.0.0.1',
  PORT: '0',
}

async function startContainer(t: Test): Promise<Aggregator> {
  t.equal(imageCmd[0], 'node')
  return startProcess(t, containerEnv, path.join(ROOT, imageCmd[1]!))
}

t.test(
  "the image's command serves the publisher service's run with exact counts, then drains on SIGTERM",
  async (t) => {
    const server = await startContainer(t)
    t.match(
      server.logs.find((l) => String(l.msg).startsWith('listening')),
      { uws: 'native', shards: 2, database: /^postgres:\/\// },
      "the service's settings, on the database URL",
    )
    const check = await runCommand(healthcheckCmd, { PORT: String(server.port) })
    t.equal(check.code, 0, `the HEALTHCHECK ${exits0(check)}`)

    const run = await runPublisher(server, fewer(publisher!.command!, '3000'))
    t.equal(run.code, 0, `the publisher ${exits0(run)}`)
    const { summary } = run
    t.match(summary, { sent: 3000, acknowledged: 3000, expected_unique: 2400, problems: [] })
    t.same(summary?.stats_delta, { received: 3000, unique_processed: 2400, duplicate_dropped: 600 })
    t.equal(summary?.stats_delta.unique_processed, summary?.expected_unique)
    t.equal(summary?.stats_delta.received, summary?.sent)
    t.equal(await storedEvents(db.sql), 2400, 'stored in PostgreSQL')

    t.equal(await server.stop('SIGTERM'), 0, 'SIGTERM (docker stop) exits 0')
    const after = await runCommand(healthcheckCmd, { PORT: String(server.port) })
    t.equal(after.code, 1, 'the HEALTHCHECK fails once nothing answers')
  },
)

t.test('the compose demo: after a restart, the same --seed sends only duplicates', async (t) => {
  const before = await storedEvents(db.sql)
  const command = ['--seed', '7', '--events', '2000']
  const first = await startContainer(t)
  const sent = await runPublisher(first, command)
  t.equal(sent.code, 0, `the first run ${exits0(sent)}`)
  t.equal(sent.summary?.stats_delta.unique_processed, sent.summary?.expected_unique)
  t.equal(await first.stop('SIGTERM'), 0, 'docker compose restart: SIGTERM, exit 0')

  const second = await startContainer(t)
  const check = await runCommand(healthcheckCmd, { PORT: String(second.port) })
  t.equal(check.code, 0, `healthy again: the HEALTHCHECK ${exits0(check)}`)
  const resent = await runPublisher(second, command)
  t.equal(resent.code, 0, `the resend ${exits0(resent)}`)
  t.same(resent.summary?.stats_delta, {
    received: 2000,
    unique_processed: 0,
    duplicate_dropped: 2000,
  })
  t.equal(await storedEvents(db.sql), before + sent.summary!.expected_unique)
  t.equal(await second.stop('SIGTERM'), 0)
})
