# One production image for the four services; `APP` selects which one runs. Node 24 runs the
# TypeScript sources directly (type stripping), so there is no build step: install the production
# dependencies of every workspace (no dev or test packages), copy the sources, generate the Prisma
# client. Every workspace's package.json is copied before `npm ci`: npm ci silently leaves out the
# dependencies of a workspace it cannot see, and its service fails at its first import
# (test/ops/dockerfile.test.ts replays these steps without a Docker engine and checks that).
# CI typechecks and tests; the image does not repeat it.
FROM node:24-bookworm-slim
ENV NODE_ENV=production KAFKAJS_NO_PARTITIONER_WARNING=1 PRISMA_HIDE_UPDATE_MESSAGE=1
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/bridge-cli/package.json apps/bridge-cli/
COPY apps/ingest-gateway/package.json apps/ingest-gateway/
COPY apps/stripe-emulator/package.json apps/stripe-emulator/
COPY apps/stripe-writer/package.json apps/stripe-writer/
COPY apps/sync-consumer/package.json apps/sync-consumer/
COPY packages/config/package.json packages/config/
COPY packages/domain/package.json packages/domain/
COPY packages/errors/package.json packages/errors/
COPY packages/local-infra/package.json packages/local-infra/
COPY packages/messaging/package.json packages/messaging/
COPY packages/observability/package.json packages/observability/
COPY packages/store/package.json packages/store/
COPY packages/stripe-client/package.json packages/stripe-client/
COPY packages/sync-core/package.json packages/sync-core/
COPY packages/testkit/package.json packages/testkit/
# --omit=optional drops what production does not need either: TypeScript and Babel (optional peers
# of prisma) and pg-cloudflare. --ignore-scripts: no production package needs an install script
# (Prisma runs its JS engine, docs/decisions/007); the Prisma client is generated below.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-fund --no-audit && npm cache clean --force
COPY . .
RUN DATABASE_URL=postgresql://build:build@localhost:5432/build npx --no-install prisma generate
USER node
ARG APP=ingest-gateway
ENV APP=${APP}
# A bounded heap keeps a service's RSS flat and under 256 MB while it drains a backlog; the local
# run and the tests use the same flags (packages/local-infra/src/service-node-flags.ts).
ENV NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=4"
CMD ["sh", "-c", "exec node apps/$APP/src/main.ts"]
