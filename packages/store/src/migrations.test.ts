import { adminDatabaseUrl, freshDatabase } from "@bridge/local-infra/testing";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { applyMigrations } from "./migrations.ts";

describe("applyMigrations (prisma migrate deploy, offline)", () => {
  it("is a no-op on a migrated database and records every migration as finished", async () => {
    const url = await freshDatabase("migrations");
    await applyMigrations(url);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT migration_name, finished_at FROM _prisma_migrations");
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row.finished_at !== null)).toBe(true);
    } finally {
      await client.end();
    }
  });

  it("rejects with Prisma's output when the database cannot be migrated", async () => {
    const missing = new URL(adminDatabaseUrl());
    missing.pathname = "/no_such_database_here";
    await expect(applyMigrations(missing.toString())).rejects.toThrow(/prisma migrate deploy failed/);
  });
});
