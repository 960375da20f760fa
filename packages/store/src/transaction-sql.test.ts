import { freshDatabase } from "@bridge/local-infra/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  createStore,
  ensureCustomer,
  findSubscription,
  type Store,
  sqlOf,
  storeErrorClass,
} from "./index.ts";

let store: Store;

beforeAll(async () => {
  store = createStore(await freshDatabase());
  await ensureCustomer(store.db, { id: "cus-sql", email: "sql@example.com" });
});
afterAll(async () => {
  await store?.close();
});

const insertSubscription = (id: string, termEnd: Date) =>
  [
    `INSERT INTO "Subscription" ("id", "reference", "customerId", "status", "source", "termEnd", "stripeRaw", "updatedAt")
   VALUES ($1, $2, 'cus-sql', 'active', 'shop', $3, $4::jsonb, $5)`,
    [id, id.slice(-12).toUpperCase(), termEnd, JSON.stringify({ items: [1, 2] }), new Date()],
  ] as const;

describe("sqlOf: SQL through pg alone, inside Store.transaction's transaction", () => {
  it("runs on the transaction's connection: sees its uncommitted writes and is rolled back with it", async () => {
    const termEnd = new Date("2027-01-31T23:59:59.123Z");
    await expect(
      store.transaction(async (tx) => {
        await sqlOf(tx)(...insertSubscription("sub-sql-rolled-back", termEnd));
        // Prisma, in the same transaction, sees the row pg wrote; outside it nobody does.
        expect(await findSubscription(tx, "sub-sql-rolled-back")).not.toBeNull();
        expect(await findSubscription(store.db, "sub-sql-rolled-back")).toBeNull();
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(await findSubscription(store.db, "sub-sql-rolled-back")).toBeNull();
  });

  it("writes and reads DateTime columns as UTC instants, as Prisma does, and jsonb as values", async () => {
    const termEnd = new Date("2027-01-31T23:59:59.123Z");
    await store.transaction(async (tx) => {
      await sqlOf(tx)(...insertSubscription("sub-sql-committed", termEnd));
    });
    const viaPrisma = await findSubscription(store.db, "sub-sql-committed");
    expect(viaPrisma?.termEnd?.toISOString()).toBe(termEnd.toISOString());
    const [viaPg] = await sqlOf(store.db)<{ termEnd: Date; stripeRaw: unknown }>(
      `SELECT "termEnd", "stripeRaw" FROM "Subscription" WHERE id = $1`,
      ["sub-sql-committed"],
    );
    expect(viaPg?.termEnd.toISOString()).toBe(termEnd.toISOString());
    expect(viaPg?.stripeRaw).toEqual({ items: [1, 2] });
  });

  it("refuses once Prisma ended the transaction (a timeout): a late statement would run outside it", async () => {
    let release!: () => void;
    const late = new Promise<void>((resolve) => {
      release = resolve;
    });
    let lateWrite: Promise<unknown> | undefined;
    let started!: () => void;
    const open = new Promise<void>((resolve) => {
      started = resolve;
    });
    const run = store.transaction(
      async (tx) => {
        started();
        await late;
        lateWrite = sqlOf(tx)(...insertSubscription("sub-sql-late", new Date()));
        await lateWrite.catch(() => {});
      },
      { timeoutMs: 200 },
    );
    // Prisma's timeout rolls back and hands the connection back while the work still runs.
    await open;
    await vi.waitFor(
      async () => {
        const [open] = await store.sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND datname = current_database()`,
          [],
        );
        expect(open?.n).toBe(0);
      },
      { timeout: 5_000, interval: 50 },
    );
    release();
    await expect(run).rejects.toThrow();
    await expect(lateWrite).rejects.toThrow("already committed or rolled back");
    // Retried as Prisma's own timeout is: a new attempt opens a new transaction.
    expect(storeErrorClass(await lateWrite?.catch((e: unknown) => e))).toBe("retryable");
    expect(await findSubscription(store.db, "sub-sql-late")).toBeNull();
  });

  it("is refused for a client no store registered", () => {
    expect(() => sqlOf({})).toThrow("not a store's client");
  });
});
