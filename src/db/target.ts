/** Where the database is: a URL from the operator, or the embedded server's unix socket. */
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

/** For logs: never includes a password. */
export function describeTarget(target: DbTarget): string {
  if (target.kind === 'socket') return `embedded (unix socket ${target.dir})`
  const url = new URL(target.url)
  if (url.password !== '') url.password = '***'
  return url.toString()
}
