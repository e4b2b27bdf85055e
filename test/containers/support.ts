/**
 * The container suite's engine and compose helpers: the real `docker` CLI and compose v2 plugin,
 * against whatever engine `DOCKER_HOST` names (scripts/test-containers.sh sets up podman's Docker
 * API through ../shared/containers). Each test file brings up its own compose project under a
 * unique name, so files never share containers, networks or volumes, and takes it down with its
 * volumes at the end, whatever happened.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

/** The repository: the compose file's folder and the build context. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs a command to its end; `check` (default) throws on a non-zero exit, with its output. */
export function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; check?: boolean; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: ROOT,
        env: { ...process.env, ...options.env },
        maxBuffer: 64 * 1024 ** 2,
        timeout: options.timeoutMs ?? 600_000,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
        const result = { code, stdout, stderr }
        if (code !== 0 && options.check !== false) {
          reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr}${stdout}`))
        } else resolve(result)
      },
    )
  })
}

export const docker = (args: string[], options?: Parameters<typeof run>[2]) =>
  run('docker', args, options)

/** One `docker inspect -f` value of a container, image, network or volume. */
export async function inspect(kind: string, name: string, format: string): Promise<string> {
  return (await docker([kind, 'inspect', '-f', format, name])).stdout.trim()
}

/** What the tests read of `docker compose config`. */
export interface ComposeConfig {
  services: Record<string, { image?: string; stop_grace_period?: string }>
  networks: Record<string, { name: string; internal?: boolean }>
  volumes: Record<string, { name: string }>
}

export interface Project {
  /** The project name (`-p`): containers are `<name>-<service>-<n>`, networks `<name>_<net>`. */
  name: string
  /** `docker compose -p <name> <args>`, with the project's environment. */
  compose(args: string[], options?: { check?: boolean; timeoutMs?: number }): Promise<Run>
  /** The id of a service's (first) container. */
  container(service: string): Promise<string>
  /** `docker compose config` as JSON: services with their images, ports, networks, volumes. */
  config(): Promise<ComposeConfig>
  /**
   * Waits until the container's health check says `healthy`; throws at the timeout. `unhealthy`
   * is waited through: a check that timed out on a busy machine passes again later, as Docker's.
   */
  healthy(service: string, timeoutMs?: number): Promise<void>
}

export interface ProjectOptions {
  /** Values for the compose file's `${…}` variables. */
  env?: Record<string, string>
  /** Profiles active in every command, `down` included (it leaves inactive ones' containers). */
  profiles?: string[]
}

/**
 * A compose project of the repository's docker-compose.yml, unique to this test file and this
 * run; `down -v -t 10` at the end of `t` (a timeout: under podman, a stop without one kills at
 * once).
 */
export function composeProject(t: Test, prefix: string, options: ProjectOptions = {}): Project {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}`
  const profiles = (options.profiles ?? []).flatMap((profile) => ['--profile', profile])
  const compose: Project['compose'] = (args, runOptions) =>
    docker(['compose', '-p', name, ...profiles, ...args], { ...runOptions, env: options.env })
  const project: Project = {
    name,
    compose,
    async config() {
      return JSON.parse((await compose(['config', '--format', 'json'])).stdout) as ComposeConfig
    },
    async container(service) {
      const { stdout } = await compose(['ps', '-a', '-q', service])
      const id = stdout.trim().split('\n')[0]
      if (id === undefined || id === '') throw new Error(`no container for ${service} in ${name}`)
      return id
    },
    async healthy(service, timeoutMs = 180_000) {
      const deadline = Date.now() + timeoutMs
      const id = await project.container(service)
      for (;;) {
        const status = await inspect('container', id, '{{.State.Health.Status}}')
        if (status === 'healthy') return
        if (Date.now() > deadline) {
          const { stdout } = await docker(['logs', '--tail', '30', id], { check: false })
          throw new Error(`${service} is ${status}, not healthy:\n${stdout}`)
        }
        await new Promise((r) => setTimeout(r, 1000))
      }
    },
  }
  t.teardown(async () => {
    await compose(['down', '-v', '-t', '10', '--remove-orphans'], { check: false })
  })
  return project
}
