/**
 * HAProxy from the host's packages in front of aggregator replicas on loopback. The policy is the
 * shipped one (deploy/haproxy/haproxy.cfg: its `global` and `defaults` sections: health checks on
 * /readyz, retries); only the listening address, the servers (static, on 127.0.0.1) and a stats
 * page are the test's own.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { tempDir } from './database.js'

export const SHIPPED_CONFIG = fileURLToPath(
  new URL('../../../deploy/haproxy/haproxy.cfg', import.meta.url),
)

/** Debian installs it in /usr/sbin, which a non-root PATH lacks. */
export function findHaproxy(): string | null {
  const folders = [
    ...(process.env.PATH ?? '').split(path.delimiter),
    '/usr/sbin',
    '/usr/local/sbin',
  ]
  return folders.map((folder) => path.join(folder, 'haproxy')).find((p) => existsSync(p)) ?? null
}

/** One server's row of HAProxy's statistics (`show stat` fields, by their CSV names). */
export type ServerStats = Record<string, string>

export interface Haproxy {
  url: string
  /** The backend's servers by name (`r1`…), as HAProxy's statistics page reports them now. */
  servers(): Promise<Map<string, ServerStats>>
  /** Every line HAProxy logged (one per request, `option httplog`). */
  log(): string
}

/** Starts HAProxy in front of `replicas` (ports on 127.0.0.1), named r1, r2…; stopped at the test's end. */
export async function startHaproxy(t: Test, binary: string, replicas: number[]): Promise<Haproxy> {
  const [port, statsPort] = [await freePort(), await freePort()]
  const shipped = await readFile(SHIPPED_CONFIG, 'utf8')
  const config = [
    ...sections(shipped).filter((s) => /^(global|defaults)\b/.test(s)),
    `frontend api\n    bind 127.0.0.1:${port}\n    default_backend replicas\n`,
    `backend replicas\n${replicas.map((p, i) => `    server r${i + 1} 127.0.0.1:${p} check\n`).join('')}`,
    `listen stats\n    bind 127.0.0.1:${statsPort}\n    stats enable\n    stats uri /stats\n`,
  ].join('\n')
  const file = path.join(await tempDir(t, 'haproxy-'), 'haproxy.cfg')
  await writeFile(file, config)
  // -db: foreground, logs on stdout (the shipped `log stdout`)
  const child = spawn(binary, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr.on('data', (c: Buffer) => (output += c.toString()))
  const exited = once(child, 'exit')
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  })
  const haproxy: Haproxy = {
    url: `http://127.0.0.1:${port}`,
    async servers() {
      const res = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)
      const [header = '', ...rows] = (await res.text()).trim().split('\n')
      const names = header.replace(/^# /, '').split(',')
      const servers = new Map<string, ServerStats>()
      for (const row of rows) {
        const fields: ServerStats = Object.fromEntries(
          row.split(',').map((value, i): [string, string] => [names[i] ?? '', value]),
        )
        const name = fields.svname ?? ''
        if (fields.pxname === 'replicas' && /^r\d+$/.test(name)) servers.set(name, fields)
      }
      return servers
    },
    log: () => output,
  }
  // up once its stats page answers; a bad configuration exits first
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited ${child.exitCode}:\n${output}`)
    const up = await haproxy.servers().then(
      () => true,
      () => false,
    )
    if (up) return haproxy
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The config's top-level sections, each with its indented lines; comments dropped. */
function sections(config: string): string[] {
  const out: string[] = []
  for (const line of config.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue
    if (/^\S/.test(line)) out.push('')
    out[out.length - 1] += `${line}\n`
  }
  return out
}

async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}
