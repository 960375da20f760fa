import { defineConfig } from "vitest/config";

// The domain package is pure: its tests need no Kafka or Postgres, so this config skips the
// root config's global infrastructure setup. `npx vitest run --config packages/domain/vitest.config.ts`
export default defineConfig({
  test: {
    root: new URL(".", import.meta.url).pathname,
    include: ["src/**/*.test.ts"],
    coverage: { provider: "v8", include: ["src/**/*.ts"], exclude: ["src/**/*.test.ts"] },
  },
});
