import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { adminDatabaseUrl, freshDatabase } from "./testing.ts";

const clients: pg.Client[] = [];
async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  clients.push(client);
  return client;
}
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end()));
});

describe("the run's Postgres", () => {
  it("is a real PostgreSQL server", async () => {
    const client = await connect(adminDatabaseUrl());
    const { rows } = await client.query<{ version: string; num: string }>(
      "select version(), current_setting('server_version_num') as num",
    );
    expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/);
    expect(Number(rows[0]?.num)).toBeGreaterThanOrEqual(170000);
  });

  it("gives each caller its own database: a table created in one is absent from another", async () => {
    const [urlA, urlB] = await Promise.all([freshDatabase("iso"), freshDatabase("iso")]);
    expect(urlA).not.toBe(urlB);
    const a = await connect(urlA);
    const b = await connect(urlB);
    await a.query("create table only_in_a (id int primary key)");
    await a.query("insert into only_in_a values (1)");

    const inA = await a.query("select to_regclass('public.only_in_a') as t");
    const inB = await b.query("select to_regclass('public.only_in_a') as t");
    expect(inA.rows[0].t).toBe("only_in_a");
    expect(inB.rows[0].t).toBeNull();
    expect((await b.query("select current_database() as db")).rows[0].db).not.toBe(
      (await a.query("select current_database() as db")).rows[0].db,
    );
  });

  it("copies the migrated template into every fresh database", async () => {
    const client = await connect(await freshDatabase("tpl"));
    const { rows } = await client.query<{ n: number }>(
      "select count(*)::int as n from _prisma_migrations where finished_at is not null",
    );
    expect(rows[0]?.n).toBeGreaterThan(0);
  });
});
