/**
 * Stops what an abandoned session is running. A client that gives up on a statement and closes
 * its socket does not stop it: the backend notices the closed socket only when the statement
 * ends, and until then it goes on working and holding its locks (a retry of the same batch
 * would wait on them). So the statement is cancelled from another session, the abandoned one is
 * closed, and its backend is watched until it is gone: then nothing of it runs any more, and a
 * commit it had sent has landed or never will (`pg_xact_status` is final, see in-doubt.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Sql } from './connect.js'
import { AggregatorError } from '../errors.js'

/** Between two looks at a backend on its way out: a cancelled statement stops in milliseconds. */
const POLL_MS = 10

export class SessionNotStopped extends AggregatorError {
  constructor(pid: number, ms: number) {
    super('ERR_AGG_SESSION_NOT_STOPPED', `backend ${pid} was still running ${ms} ms after cancel`)
  }
}

/**
 * Cancels backend `pid`'s statement through `sql` (another session), closes the abandoned
 * session with `close`, and waits up to `timeoutMs` for the backend to end. The abandoned
 * session is still open when the cancel is sent, so `pid` is still its backend.
 */
export async function stopBackend(
  sql: Sql,
  pid: number,
  close: () => Promise<void>,
  timeoutMs: number,
): Promise<void> {
  await sql`SELECT pg_cancel_backend(${pid})`
  await close()
  const until = performance.now() + timeoutMs
  for (;;) {
    const [row] = await sql<{ running: boolean }[]>`
      SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = ${pid}) AS running`
    if (!row!.running) return
    if (performance.now() > until) throw new SessionNotStopped(pid, timeoutMs)
    await sleep(POLL_MS)
  }
}
