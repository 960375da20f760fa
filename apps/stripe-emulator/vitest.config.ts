import { defineConfig } from "vitest/config";

// The emulator's tests need no Kafka/Postgres: this config skips the monorepo's global
// infrastructure setup so `npm test -w apps/stripe-emulator` starts in a second.
export default defineConfig({
  root: import.meta.dirname,
  test: {
    include: ["src/**/*.test.ts"],
    pool: "forks",
    testTimeout: 30_000,
  },
});
