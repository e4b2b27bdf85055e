/**
 * What the command-line tools (publisher, consumer) share: the default URL, option checks, and
 * how a run ends: exit 0, 1 when the run failed or its check did, 2 on bad options, each failure
 * in one line that says what to do.
 */
import { ClientError } from '../../client/index.js'

/** The aggregator on this machine, on the port `npm start` would use (`PORT`, default 8080). */
export function defaultUrl(env: NodeJS.ProcessEnv = process.env): string {
  const port = env.PORT === undefined || env.PORT === '' || env.PORT === '0' ? '8080' : env.PORT
  return `http://127.0.0.1:${port}`
}

export class UsageError extends Error {
  readonly code = 'CLI_USAGE'
}

export function wholeNumber(name: string, text: string, min = 1): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be a whole number ≥ ${min}`)
  return n
}

/**
 * Runs `main` as the process: its result is the exit code; an error is explained on stderr.
 * Nothing answering at the URL is the usual first-run mistake, so it says how to fix it.
 */
export async function command(name: string, main: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await main()
  } catch (error) {
    const usage =
      error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    const unreachable = causes(error).some(
      (e) => e instanceof ClientError && e.kind === 'unreachable',
    )
    const hint = unreachable
      ? '\nIs the aggregator running? Start it with `npm start`, or give its address with --url.'
      : usage
        ? `\nSee --help.`
        : ''
    process.stderr.write(`${name}: ${(error as Error).message}${hint}\n`)
    process.exitCode = usage ? 2 : 1
  }
}

/** The error and its causes, outermost first. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = []
  for (let e = error; e !== undefined && chain.length < 10; e = (e as Error).cause) chain.push(e)
  return chain
}
