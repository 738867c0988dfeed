# syntax=docker/dockerfile:1
#
# ModelMora in a container: built with the Cairo development packages,
# run on a slim Node image with only their runtime libraries, as the
# unprivileged `node` user (uid 1000), from the compiled dist/ (no tsx).
#
#   docker build -t modelmora .
#   docker run --rm -p 8080:8080 modelmora
#   docker run --rm -p 8080:8080 -e MODELMORA_WORKERS=2 \
#     -e MODELMORA_REDIS_URL=redis://redis:6379 modelmora
#
# Every setting is an environment variable (npm run serve -- --help);
# HOST and PORT are set below. deploy/README.md says what is checked:
# test/scale/deploy.spec.ts reads this file and checks it against the CLI
# and the server's routes (no container runtime runs in CI).

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm AS build
# node-canvas builds from source against these when no prebuilt binary fits.
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    build-essential pkg-config \
    libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig*.json ./
COPY src ./src
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# The shared libraries node-canvas links against (the -dev packages' runtime halves).
RUN apt-get update \
  && apt-get install -y --no-install-recommends \
    libcairo2 libpango-1.0-0 libpangocairo-1.0-0 libjpeg62-turbo libgif7 librsvg2-2 \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=8080
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
USER node
EXPOSE 8080
# GET /healthz answers 200 while the server (every worker) serves, 503
# while it drains. With TLS or --public-health false, change this probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains: calls in flight get MODELMORA_GRACE_MS to finish.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/cli.js"]
