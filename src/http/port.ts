/**
 * Why the HTTP port cannot be listened on. uWebSockets.js reports a failed listen as `false`,
 * without a reason, so the kernel is asked again with a plain Node listener, which gets the
 * errno. Start-up also asks before it starts a database, to fail in a moment rather than after.
 */
import net from 'node:net'
import { AggregatorError } from '../errors.js'
import { systemReason } from '../system-errors.js'

/** Resolves when `host:port` can be listened on now; otherwise rejects naming the cause. */
export async function checkPort(host: string, port: number): Promise<void> {
  const probe = net.createServer()
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject)
      probe.listen({ host, port, exclusive: true }, resolve)
    })
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') {
      throw new AggregatorError(
        'ERR_AGG_PORT_IN_USE',
        `port ${port} on ${host} is in use by another process`,
        { cause: error },
      )
    }
    throw new AggregatorError(
      'ERR_AGG_LISTEN',
      `cannot listen on ${host}:${port}: ${systemReason(error)}`,
      { cause: error },
    )
  }
  await new Promise((resolve) => probe.close(resolve))
}
