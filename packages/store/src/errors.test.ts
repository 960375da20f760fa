import { freshDatabase } from "@bridge/local-infra/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStoreUnavailable, type StoreErrorClass, storeErrorClass } from "./errors.ts";
import { Prisma } from "./generated/client.ts";
import { createStore, type Store } from "./index.ts";

describe("isStoreUnavailable", () => {
  it("recognises a database that does not answer, through Prisma's wrapping", async () => {
    const store = createStore("postgresql://nobody@127.0.0.1:1/nothing");
    const error = await store.db.subscription.findFirst().catch((caught: unknown) => caught);
    await store.close();
    expect(isStoreUnavailable(error)).toBe(true);
  });

  it("does not mistake a query error or a plain bug for an outage", () => {
    expect(isStoreUnavailable(Object.assign(new Error("Unique constraint failed"), { code: "P2002" }))).toBe(
      false,
    );
    expect(isStoreUnavailable(new TypeError("cannot read properties of undefined"))).toBe(false);
    expect(isStoreUnavailable(new Error("wrapped", { cause: { code: "57P03" } }))).toBe(true);
  });
});

let store: Store;
let databaseUrl: string;
beforeAll(async () => {
  databaseUrl = await freshDatabase("store_errors");
  store = createStore(databaseUrl);
  await store.db.order.create({ data: { id: "order-1", ...orderRow("R1"), payload: {} } });
});
afterAll(async () => {
  await store?.close();
});

function orderRow(reference: string) {
  return { reference, type: "new", source: "shop", subscriptionId: "sub-1", status: "processing" };
}

/** The error a real Postgres (through Prisma and the pg adapter) raises for `query`. */
async function failure(query: (s: Store) => Promise<unknown>, on: Store = store): Promise<unknown> {
  const error = await query(on).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error === undefined) throw new Error("the query succeeded");
  return error;
}
/** A real Postgres error with this SQLSTATE, raised by the server (the driver and Prisma wrap it as they would any). */
const raise = (sqlState: string, message: string) => (s: Store) =>
  s.db.$executeRawUnsafe(
    `DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '${sqlState}', MESSAGE = '${message}'; END $$`,
  );

// Where each store failure goes (docs/decisions/024): retryable → retried with backoff, then the
// retry topic, then the DLQ; permanent → the writer fails the order with the reason, the sync
// dead-letters the message at once with the reason; fatal → the consumer stops, the process exits.
const cases: { name: string; query: (s: Store) => Promise<unknown>; expected: StoreErrorClass }[] = [
  {
    name: "NUL in a JSON value (22P05)",
    query: (s) =>
      s.db.order.create({ data: { id: "order-2", ...orderRow("R2"), payload: { name: "a\u0000b" } } }),
    expected: "permanent",
  },
  {
    name: "lone surrogate in a JSON value (Prisma's JSON error)",
    query: (s) =>
      s.db.order.create({ data: { id: "order-3", ...orderRow("R3"), payload: { name: "a\ud800" } } }),
    expected: "permanent",
  },
  {
    name: "NUL in a text column (22021)",
    query: (s) =>
      s.db.order.create({ data: { id: "order-4", ...orderRow("R4"), source: "a\u0000b", payload: {} } }),
    expected: "permanent",
  },
  {
    name: "invalid value for a column (PrismaClientValidationError)",
    query: (s) =>
      s.db.order.create({
        data: { id: "order-5", ...orderRow("R5"), createdAt: new Date(Number.NaN), payload: {} },
      }),
    expected: "permanent",
  },
  {
    name: "data exception in a raw query (22012)",
    query: (s) => s.db.$executeRawUnsafe("SELECT 1/0"),
    expected: "permanent",
  },
  {
    name: "unique violation (P2002: a concurrent delivery inserted it first)",
    query: (s) => s.db.order.create({ data: { id: "order-6", ...orderRow("R1"), payload: {} } }),
    expected: "retryable",
  },
  {
    name: "foreign-key violation (P2003: the referenced row is another consumer's, not there yet)",
    query: (s) =>
      s.db.subscription.create({
        data: { id: "sub-x", reference: "REF", customerId: "cus-missing", status: "active", source: "shop" },
      }),
    expected: "retryable",
  },
  {
    name: "record to update not found (P2025)",
    query: (s) => s.db.order.update({ where: { id: "order-missing" }, data: { status: "applied" } }),
    expected: "retryable",
  },
  {
    name: "serialization failure (40001)",
    query: raise("40001", "could not serialize access"),
    expected: "retryable",
  },
  { name: "deadlock (40P01)", query: raise("40P01", "deadlock detected"), expected: "retryable" },
  {
    name: "lock not available (55P03)",
    query: raise("55P03", "could not obtain lock"),
    expected: "retryable",
  },
  {
    name: "too many connections (53300)",
    query: raise("53300", "too many connections"),
    expected: "retryable",
  },
  { name: "admin shutdown (57P01)", query: raise("57P01", "terminating connection"), expected: "retryable" },
  {
    name: "table missing (42P01: the schema is not migrated)",
    query: (s) => s.db.$executeRawUnsafe("SELECT * FROM nowhere"),
    expected: "fatal",
  },
  { name: "insufficient privilege (42501)", query: raise("42501", "permission denied"), expected: "fatal" },
];

describe("storeErrorClass: every Postgres and Prisma failure class and where it goes", () => {
  it.each(cases)("$name → $expected", async ({ query, expected }) => {
    expect(storeErrorClass(await failure(query))).toBe(expected);
  });

  it("the database unreachable (P1001) → retryable; the database missing (P1003) → fatal", async () => {
    const down = createStore("postgresql://nobody@127.0.0.1:1/nothing");
    const missing = createStore(databaseUrl.replace(/\/[^/?]*(\?|$)/, "/no_such_database$1"));
    try {
      expect(storeErrorClass(await failure((s) => s.db.order.findFirst(), down))).toBe("retryable");
      expect(storeErrorClass(await failure((s) => s.db.order.findFirst(), missing))).toBe("fatal");
    } finally {
      await down.close();
      await missing.close();
    }
  });

  it("Prisma's initialization error → retryable; anything else is not a store failure", () => {
    expect(storeErrorClass(new Prisma.PrismaClientInitializationError("Can't connect", "6.19.3"))).toBe(
      "retryable",
    );
    expect(storeErrorClass(new TypeError("cannot read properties of undefined"))).toBeUndefined();
    expect(storeErrorClass(new Error("Stripe said no"))).toBeUndefined();
  });
});
