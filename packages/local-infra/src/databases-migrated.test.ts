import pg from "pg";
import { describe, expect, it } from "vitest";
import { startInfraWithDatabase } from "./databases-migrated.ts";
import { adminDatabaseUrl, kafkaBrokers } from "./testing.ts";

describe("startInfraWithDatabase (benchmarks and tools)", () => {
  it("gives a database of its own with the store's migrations applied, on the configured services", async () => {
    const env = { KAFKA_BROKERS: kafkaBrokers().join(","), DATABASE_URL: adminDatabaseUrl() };
    const infra = await startInfraWithDatabase("scripted", { env, log: () => {} });
    try {
      expect(infra.kafkaBrokers).toBe(env.KAFKA_BROKERS);
      expect(new URL(infra.databaseUrl).pathname).not.toBe(new URL(env.DATABASE_URL).pathname);
      const client = new pg.Client({ connectionString: infra.databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query(
          "SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL",
        );
        expect(rows[0].n).toBeGreaterThan(0);
      } finally {
        await client.end();
      }
    } finally {
      await infra.stop();
    }
  });
});
