# One image for the four apps; `APP` selects which one runs. Node 24 runs the TypeScript sources
# directly (type stripping), so the build stage only installs, generates and typechecks.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/ingest-gateway/package.json apps/ingest-gateway/
COPY apps/stripe-writer/package.json apps/stripe-writer/
COPY apps/sync-consumer/package.json apps/sync-consumer/
COPY apps/stripe-emulator/package.json apps/stripe-emulator/
COPY packages/domain/package.json packages/domain/
COPY packages/messaging/package.json packages/messaging/
COPY packages/store/package.json packages/store/
COPY packages/config/package.json packages/config/
COPY packages/observability/package.json packages/observability/
COPY packages/local-infra/package.json packages/local-infra/
RUN npm ci --no-fund --no-audit
COPY . .
RUN DATABASE_URL=postgresql://build:build@localhost:5432/build npx prisma generate \
 && npx turbo run typecheck

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production KAFKAJS_NO_PARTITIONER_WARNING=1
WORKDIR /app
COPY --from=build /app /app
RUN npm prune --omit=dev --no-fund --no-audit || true
USER node
ARG APP=ingest-gateway
ENV APP=${APP}
CMD ["sh", "-c", "exec node apps/$APP/src/main.ts"]
