#!/usr/bin/env bash
# The container suite (`npm run test:containers`): test/containers/*.test.ts against a container
# engine, the image built from the Dockerfile as it is and the stack from docker-compose.yml.
#
# The engine and the stand-ins for the official base images come from ../shared/containers
# (its README: podman serving the Docker API, health checks, and how it differs from Docker);
# CONTAINERS_TOOL names another copy of that folder. Run as root. Exits 3, before any test,
# when the engine or the stand-ins cannot be set up: .ci/run reports the suite as skipped then.
set -uo pipefail
cd "$(dirname "$0")/.."
tool=${CONTAINERS_TOOL:-../shared/containers}

cannot() {
  echo "containers: cannot set up the engine: $*" >&2
  exit 3
}

[[ -x "$tool/engine" && -x "$tool/standins" ]] || cannot "$tool/engine not found (CONTAINERS_TOOL)"
[[ $(id -u) -eq 0 ]] || cannot 'podman needs root here'
# leave the engine as found: stop it at the end only if this run started it
"$tool/engine" status >/dev/null 2>&1
started_here=$([[ $? -eq 3 ]] && echo yes || echo no)
timeout 600 "$tool/engine" up || cannot 'engine up failed'
if [[ $started_here == yes ]]; then trap '"$tool/engine" down' EXIT; fi
eval "$("$tool/engine" env)"
# the base images the Dockerfile and docker-compose.yml name (haproxy: the scale profile)
timeout 1800 "$tool/standins" build node:24-trixie-slim postgres:16 haproxy:3.0 ||
  cannot 'standins build failed'

npm run build || exit 1
# No coverage floors: the code under test runs inside the containers, so the host's coverage of
# this run means nothing (the host suite holds the floors). One file at a time: each brings up a
# stack.
npx tap --disable-coverage --allow-incomplete-coverage --jobs=1 --timeout=1500 dist/test/containers/*.test.js
