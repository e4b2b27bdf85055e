/** Where the database is: over TCP, or over a unix socket (the embedded server's, or any). */
export type DbTarget =
  | { kind: 'url'; url: string }
  | {
      kind: 'socket'
      /** Folder holding `.s.PGSQL.<port>`. */
      dir: string
      port: number
      user: string
      password: string
      database: string
    }

/**
 * A `DATABASE_URL`. As in libpq, `?host=/folder` means a unix socket in that folder
 * (`postgres://user:pass@/db?host=/var/run/postgresql`): postgres.js takes sockets only as an
 * option, so they are made a socket target here.
 */
export function urlTarget(text: string): DbTarget {
  const url = new URL(text)
  const host = url.searchParams.get('host')
  if (host === null || !host.startsWith('/')) return { kind: 'url', url: text }
  return {
    kind: 'socket',
    dir: host,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)) || 'postgres',
  }
}

/** For logs: never includes a password. */
export function describeTarget(target: DbTarget, embedded = false): string {
  if (embedded && target.kind === 'socket') return `embedded (unix socket ${target.dir})`
  if (target.kind === 'socket') return `${target.database} on unix socket ${target.dir}`
  const url = new URL(target.url)
  if (url.password !== '') url.password = '***'
  return url.toString()
}
