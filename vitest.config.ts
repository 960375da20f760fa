import { defineConfig } from "vitest/config";

// One vitest run for the whole monorepo: infrastructure (Kafka, Postgres) starts once in the
// global setup and every test file gets its own topics and database (see packages/local-infra).
export default defineConfig({
  test: {
    include: ["apps/*/src/**/*.test.ts", "packages/*/src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["packages/local-infra/src/vitest-global-setup.ts"],
    // Every worker may load kafkajs directly (test helpers): fix its negative timeout there too.
    setupFiles: ["packages/messaging/src/kafkajs-fix.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    reporters: ["default", "./scripts/vitest-summary-reporter.ts"],
    coverage: {
      provider: "v8",
      include: ["packages/*/src/**/*.ts", "apps/*/src/**/*.ts"],
      exclude: ["**/*.test.ts", "**/generated/**"],
    },
  },
});
