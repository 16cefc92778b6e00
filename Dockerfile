# syntax=docker/dockerfile:1
# Build: compile TypeScript and native modules, then drop dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# toolchain for better-sqlite3 when no prebuilt binary matches
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
# `npm ci` runs the package's `prepare` script: src/ compiled to dist/, the server bundled into dist/server.js
RUN npm ci && npm prune --omit=dev

# Run: the compiled service, its migrations, production dependencies; no compilers, not root.
FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# the first start after an upgrade migrates before it answers (migration 0012 took ~20 s per 100,000 articles):
# failures within the start period do not count. The probe asks the address the server listens on (HOST), or
# loopback when it listens on all of them
HEALTHCHECK --interval=15s --timeout=3s --start-period=120s --retries=3 \
  CMD ["node", "-e", "const h = process.env.HOST; const host = !h || h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h; fetch(`http://${host}:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# package.json's start script (its environment and node flags included; a test holds them equal), run by node itself
# so SIGTERM reaches it
ENV MALLOC_MMAP_THRESHOLD_=131072
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=50", "dist/server.js"]
