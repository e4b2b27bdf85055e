/**
 * The image and the compose stack, read without a container engine: Dockerfile and
 * docker-compose.yml parsed and linted, in every `npm test`. What running them proves (health,
 * ports, networks, user, signals, the demo's counts, volumes) is the container suite's
 * (test/containers, `npm run test:containers`).
 */
import { access, readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as dclint from 'dclint'
import { DockerfileParser, type From, type ImageTemplate } from 'dockerfile-ast'
import t from 'tap'
import { parse } from 'yaml'
import { ConfigSchema, loadConfig } from '../src/config.js'

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

t.test('the image is built in two stages from Node 24 on Debian trixie, pinned', async (t) => {
  t.ok(froms.length >= 2, `multi-stage: ${froms.length} FROM`)
  for (const from of froms) {
    const image = `${from.getImageName()}:${from.getImageTag()}`
    t.equal(from.getImageName(), 'node', `${image}: the official node image`)
    t.match(from.getImageTag(), /^24-trixie(-slim)?$/, `${image}: major 24, trixie, glibc 2.41`)
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
  t.same(
    fromBuild,
    ['/app/dist/src', '/app/dist/workers', '/app/dist/client'],
    'the app, its worker threads and the client',
  )
  // what those folders hold once built: the image's CMD, the publisher and the client it
  // imports, the shards' worker file
  for (const file of [
    'dist/src/main.js',
    'dist/src/publisher/main.js',
    'dist/client/index.js',
    'dist/workers/flush.js',
  ])
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
    aggregator?.ports?.some((p) => withDefaults({ p }).p === `127.0.0.1:8080:${imageEnv.PORT}`),
    `8080 published on loopback: ${aggregator?.ports?.join(', ')}`,
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
  t.equal(testService?.pull_policy, 'build', 'rebuilt at every run: never an old image tested')
  t.same(testService?.depends_on, { storage: { condition: 'service_healthy' } })
  t.equal(
    testService?.environment?.DATABASE_URL,
    aggregator?.environment?.DATABASE_URL,
    'its databases go on storage',
  )
})
