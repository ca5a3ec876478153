# The ledger's production image: `docker build -t audit-ledger .` (or `docker compose up`, docker-compose.yml).
# The build stage runs the README's own commands (`npm ci`, whose `prepare` builds every workspace); the runtime stage
# keeps the built output and the production dependencies only, and runs as the unprivileged `node` user.

FROM node:20.20-bookworm-slim AS build
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund \
    && npm prune --omit=dev --no-audit --no-fund

FROM node:20.20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    LEDGER_DATA_DIR=/var/lib/ledger \
    LEDGER_HTTP_HOST=0.0.0.0 \
    LEDGER_TCP_HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=root:root /src/package.json /src/package-lock.json ./
COPY --from=build --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/libs ./libs
COPY --from=build --chown=root:root /src/apps ./apps
RUN mkdir -p /var/lib/ledger \
    && chown node:node /var/lib/ledger
USER node
VOLUME ["/var/lib/ledger"]
EXPOSE 8080 4100
# Liveness of the process (not of its store): a dead database makes /health/ready fail, not this.
COPY --chown=root:root deploy/healthcheck.mjs ./deploy/healthcheck.mjs
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "deploy/healthcheck.mjs"]
# Exec form: node is PID 1 and receives `docker stop`'s SIGTERM itself (the ledger stops cleanly on it).
CMD ["node", "apps/ledger/dist/main.js"]
