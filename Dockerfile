# syntax=docker/dockerfile:1
# One image for every service of the platform; the service it runs is chosen by SERVICE
# (identity, sessions, variables or gateway), given as a build argument and kept as an environment
# variable, so `docker run -e SERVICE=sessions <image>` works too.
#
#   docker build --build-arg SERVICE=identity -t svp-identity .
#
# docker-compose.yml builds it once per service; see docs/docker-compose.md.

ARG NODE_IMAGE=node:22-slim

# --- manifests: only package.json files and the lock file, so the install below stays cached until a
# dependency changes (a source change alone does not reinstall node_modules).
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp package.json package-lock.json /manifests/ \
 && find apps libs -name package.json -not -path '*/node_modules/*' \
      -exec sh -c 'mkdir -p "/manifests/$(dirname "$1")" && cp "$1" "/manifests/$1"' _ {} \;

# --- build: install everything at the lock file's versions, compile every project (tsc -b), then
# drop the dev dependencies. `npm install`, not `npm ci`: the lock file lacks other platforms'
# optional packages (@swc/core-*, @unrs/resolver-binding-*), which `npm ci` refuses as out of sync;
# `npm install` still installs every locked version. Switch to `npm ci` once the lock file is full.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV NX_DAEMON=false \
    NX_NO_CLOUD=true \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
COPY --from=manifests /manifests/ ./
RUN npm install
COPY . .
RUN npm run build \
 && npm prune --omit=dev \
 && rm -rf .nx tools docs .ci \
 && find . -name '*.tsbuildinfo' -not -path './node_modules/*' -delete

# --- runtime: compiled projects, production dependencies, no compiler, no root.
FROM ${NODE_IMAGE} AS runtime
ARG SERVICE=gateway
# NODE_OPTIONS: a 4 MB young generation (V8's default is 16 MB a semi-space), so an idle service
# stays near 100 MB instead of holding 32 MB of young generation after start-up; reads measured within
# a few per cent (docs/configuration.md, "Service processes"). Override with `-e NODE_OPTIONS=...`
# (an empty value: V8's defaults).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=4 \
    SERVICE=${SERVICE}
WORKDIR /app
# Files stay owned by root (read-only for the service); only the PGlite data directory, used when
# no DATABASE_URL is set, is writable by the unprivileged user.
COPY --from=build /app ./
RUN mkdir -p .data && chown node:node .data
USER node
EXPOSE 4000 4001 4002 4003
# Liveness: GET /healthz on the service's port (<SERVICE>_PORT, else its default of DESIGN.md §5).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=5 \
  CMD ["node", "-e", "const s = process.env.SERVICE; const port = process.env[s.toUpperCase() + '_PORT'] || { gateway: 4000, identity: 4001, sessions: 4002, variables: 4003 }[s]; fetch('http://127.0.0.1:' + port + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));"]
# A shell resolves ${SERVICE} (an exec-form CMD would pass it literally); `exec` then replaces the
# shell with node, so node itself receives SIGTERM and shuts down gracefully.
CMD ["sh", "-c", "exec node apps/${SERVICE}/dist/main.js"]
