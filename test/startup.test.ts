/**
 * Start-up, as an operator meets it: one server per port, and every failure to start told in one
 * plain line on stderr with a non-zero exit, like a bad configuration; a database that is not up
 * yet is waited for.
 */
import { execFile } from 'node:child_process'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { plainLines, runToExit, spawnAggregator, startProcess } from './support/aggregator.js'
import { testDatabase } from './support/database.js'
import { freePort } from './support/postgres.js'

const execFileAsync = promisify(execFile)
const UWS = fileURLToPath(new URL('../src/uws.js', import.meta.url))
const NO_NATIVE_ADDONS = fileURLToPath(new URL('fixtures/no-native-addons.js', import.meta.url))

t.test(
  'a second aggregator on a busy port exits 1 naming the port; the first keeps serving',
  async (t) => {
    const db = await testDatabase(t)
    // a fixed port: the kernel never shares a port it picked itself (PORT=0) with a second listener
    const first = await startProcess(t, { DATABASE_URL: db.url, PORT: String(await freePort()) })
    const { code, output } = await runToExit({
      DATABASE_URL: db.url,
      HOST: '127.0.0.1',
      PORT: String(first.port),
    })
    t.equal(code, 1)
    t.same(plainLines(output), [
      `pubsub-aggregator: port ${first.port} on 127.0.0.1 is in use by another process`,
    ])
    t.equal((await fetch(`${first.url}/healthz`)).status, 200)
  },
)

t.test('the port is held exclusively: a listener asking to share it is refused', async (t) => {
  const db = await testDatabase(t)
  const server = await startProcess(t, { DATABASE_URL: db.url, PORT: String(await freePort()) })
  // uWebSockets.js listens with SO_REUSEPORT unless told otherwise: such a listener in another
  // process would get half the connections if the aggregator's socket allowed sharing
  const { stdout } = await execFileAsync(process.execPath, [
    '--input-type=module',
    '-e',
    `const { loadUws } = await import(${JSON.stringify(UWS)})
    loadUws().module.App().listen('127.0.0.1', ${server.port}, (s) => {
      console.log(s === false ? 'refused' : 'listening'); process.exit(0) })`,
  ])
  t.equal(stdout.trim(), 'refused')
})

t.test(
  'where no uWebSockets.js binary loads, start-up exits 1 in one line naming each build',
  async (t) => {
    // before the port or a database: nothing else is needed to be refused
    const { code, output } = await runToExit({ PORT: '0' }, ['--import', NO_NATIVE_ADDONS])
    t.equal(code, 1)
    const lines = plainLines(output)
    t.equal(lines.length, 1, output)
    t.match(
      lines[0],
      /^pubsub-aggregator: no uWebSockets\.js binary loads on Node v[\d.]+ \(ABI \d+\) on linux-x64, glibc [\d.]+: @btc-vision\/uwebsockets\.js@20\.57\.0: native addons are disabled [^;]*; @trufflesuite\/uws-js-unofficial@[^:]+: (native addons are disabled [^.]*|no binary for Node ABI \d+)\. Run Node 20, 22 or 24 /,
    )
    t.match(output, /"code":"ERR_AGG_UWS_UNAVAILABLE"/, 'the cause is logged with its code')
    t.notMatch(output, /Falling back to a NodeJS/, "the fork's JS fallback is not loaded silently")
    t.match(
      lines[0],
      /or set UWS_FALLBACK=allow to serve on a pure-JS server/,
      'the way out is named',
    )
  },
)

t.test('a DATA_DIR that cannot be created exits 1 naming DATA_DIR and the reason', async (t) => {
  // a folder under a regular file: mkdir fails whoever runs it, root included
  const { code, output } = await runToExit({ DATA_DIR: '/etc/hostname/x', PORT: '0' })
  t.equal(code, 1)
  t.same(plainLines(output), [
    'pubsub-aggregator: DATA_DIR /etc/hostname/x cannot be used: mkdir /etc/hostname/x: not a directory (ENOTDIR)',
  ])
  t.match(output, /"code":"ERR_AGG_DATA_DIR"/, 'the cause is logged with its code')
})

t.test(
  'an unreachable database is retried until DB_WAIT_MS, then one line and exit 1',
  async (t) => {
    const closed = await freePort()
    const { code, output } = await runToExit({
      DATABASE_URL: `postgres://u:secret@127.0.0.1:${closed}/events`,
      DB_WAIT_MS: '1500',
      HOST: '127.0.0.1',
      PORT: '0',
    })
    t.equal(code, 1)
    const attempts = output.split('\n').filter((line) => line.includes('not reachable yet'))
    t.ok(attempts.length >= 2, `each attempt is logged (${attempts.length})`)
    const [line, ...more] = plainLines(output)
    t.same(more, [])
    t.match(
      line,
      new RegExp(
        `^pubsub-aggregator: database postgres://u:\\*\\*\\*@127\\.0\\.0\\.1:${closed}/events unreachable after \\d+ attempts over DB_WAIT_MS=1500: connect ECONNREFUSED`,
      ),
    )
    t.notMatch(output, 'secret', 'never the password')
  },
)

t.test('a database that comes up while start-up waits is used', async (t) => {
  const db = await testDatabase(t)
  const upstream = new URL(db.url)
  // a server that answers its first connections as PostgreSQL does while it starts, then is up
  let refused = 0
  const proxy = net.createServer((client) => {
    if (refused < 2) {
      refused++
      client.once('data', () => client.end(startingUp()))
      return
    }
    const server = net.connect(Number(upstream.port), upstream.hostname)
    client.pipe(server).pipe(client)
    client.on('error', () => server.destroy())
    server.on('error', () => client.destroy())
  })
  proxy.unref() // should the aggregator fail, the test still ends
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  const proxied = new URL(db.url)
  proxied.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`
  const server = await spawnAggregator({ DATABASE_URL: proxied.toString(), DB_WAIT_MS: '60000' })
  t.teardown(async () => {
    await server.stop()
    await new Promise((resolve) => proxy.close(resolve))
  })
  t.equal(refused, 2)
  const waits = server.logs.filter((entry) => String(entry.msg).includes('not reachable yet'))
  t.ok(waits.length >= 1, 'the failed attempts were logged')
  t.ok(server.logs.some((entry) => String(entry.msg).includes('reachable after')))
  t.equal((await fetch(`${server.url}/readyz`)).status, 200)
})

/** A PostgreSQL ErrorResponse: FATAL 57P03, as a server answers while it is starting up. */
function startingUp(): Buffer {
  const fields = ['SFATAL', 'VFATAL', 'C57P03', 'Mthe database system is starting up']
  const body = Buffer.from(`${fields.join('\0')}\0\0`)
  const header = Buffer.alloc(5)
  header.write('E')
  header.writeInt32BE(4 + body.length, 1)
  return Buffer.concat([header, body])
}

t.test(
  'a database that refuses the credentials stops the start at once, without waiting',
  async (t) => {
    const db = await testDatabase(t)
    const wrong = new URL(db.url)
    wrong.password = 'not-the-password'
    const { code, output } = await runToExit({
      DATABASE_URL: wrong.toString(),
      DB_WAIT_MS: '600000',
      HOST: '127.0.0.1',
      PORT: '0',
    })
    t.equal(code, 1)
    t.notMatch(output, 'not reachable yet')
    t.match(plainLines(output), [
      /^pubsub-aggregator: database .* refused the connection: .*\(28P01\)$/,
    ])
    t.notMatch(output, 'not-the-password')
  },
)
