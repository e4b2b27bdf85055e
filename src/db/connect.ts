import net from 'node:net'
import postgres from 'postgres'
import type { DbTarget } from './target.js'

export type Sql = postgres.Sql

export interface ConnectOptions {
  max: number
  /** Seconds, as postgres.js counts them. */
  connectTimeoutS?: number
  onnotice: (notice: postgres.Notice) => void
  /** Server-side bound on every statement of this client (0 or absent: none). */
  statementTimeoutMs?: number
}

/**
 * One postgres.js client. Over TCP, postgres.js leaves Nagle on, which was measured to stall
 * ~40 ms per statement after a COPY, so URL targets get a socket with `noDelay`; the embedded
 * server is reached over its unix socket, which has no such delay.
 */
export function connect(target: DbTarget, options: ConnectOptions): Sql {
  const common = {
    max: options.max,
    connect_timeout: options.connectTimeoutS ?? 10,
    idle_timeout: 0,
    onnotice: options.onnotice,
    connection: {
      application_name: 'pubsub-aggregator',
      client_min_messages: 'warning',
      statement_timeout: options.statementTimeoutMs ?? 0,
    },
  }
  if (target.kind === 'socket') {
    return postgres({
      ...common,
      host: target.dir,
      port: target.port,
      user: target.user,
      pass: target.password,
      database: target.database,
    })
  }
  const noDelay: SocketOption = {
    socket: ({ host, port }) =>
      net.connect({ host: host[0] ?? 'localhost', port: port[0] ?? 5432, noDelay: true }),
  }
  return postgres(target.url, { ...common, ...noDelay })
}

/** postgres.js supports a socket factory (src/connection.js) but does not declare it. */
export interface SocketOption {
  socket: (options: { host: string[]; port: number[] }) => net.Socket
}
