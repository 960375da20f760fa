import { freshDatabase } from "@bridge/local-infra/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  appendEvent,
  completedSteps,
  createStore,
  createSubscription,
  ensureCustomer,
  findOrderByExternalId,
  findSubscriptionByStripeId,
  findSubscriptionDetail,
  handleOnce,
  isOrderOutcomeSynced,
  isStoreUnavailable,
  listEventsForSubscription,
  listUnmatched,
  recordOrder,
  recordStep,
  recordUnmatched,
  type Store,
  SYNC_INBOX,
  upsertOffers,
} from "./index.ts";

let store: Store;

beforeAll(async () => {
  store = createStore(await freshDatabase());
});
afterAll(async () => {
  await store?.close();
});

async function seedSubscription(id: string, stripeSubscriptionId: string) {
  await ensureCustomer(store.db, { id: `cus-${id}`, email: `${id}@example.com` });
  return createSubscription(store.db, {
    id,
    reference: id.slice(-12).toUpperCase(),
    customerId: `cus-${id}`,
    status: "active",
    source: "shop",
    stripeSubscriptionId,
  });
}

describe("store against real Postgres", () => {
  it("has every migrated table", async () => {
    const rows = await store.db.$queryRaw<{ tablename: string }[]>`
      SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`;
    expect(rows.map((row) => row.tablename)).toEqual(
      expect.arrayContaining([
        "Customer",
        "Subscription",
        "PaymentSchedule",
        "Order",
        "Event",
        "InboxMessage",
        "OrderStep",
      ]),
    );
  });

  it("sql reads through pg with the same rows Prisma sees, jsonb parsed", async () => {
    await seedSubscription("sub-sql-read-000001", "sub_SqlRead1");
    const rows = await store.sql<{ id: string; reference: string }>(
      `SELECT "id", "reference" FROM "Subscription" WHERE "id" = ANY($1)`,
      [["sub-sql-read-000001", "sub-absent"]],
    );
    expect(rows).toEqual([{ id: "sub-sql-read-000001", reference: "-READ-000001" }]);
    const [json] = await store.sql<{ value: unknown }>(`SELECT $1::jsonb AS "value"`, ['{"a":[1]}']);
    expect(json?.value).toEqual({ a: [1] });
  });

  it("handleOnce applies an effect once per message id, even when delivered concurrently", async () => {
    let applied = 0;
    const effect = async () => {
      applied += 1;
      return "done";
    };
    const results = await Promise.all([
      handleOnce(store, "sync", "msg-1", effect),
      handleOnce(store, "sync", "msg-1", effect),
      handleOnce(store, "sync", "msg-1", effect),
    ]);
    expect(applied).toBe(1);
    expect(results.filter((result) => !result.duplicate)).toHaveLength(1);
    // the same id for another consumer is a different inbox entry
    expect((await handleOnce(store, "writer", "msg-1", effect)).duplicate).toBe(false);
  });

  it("handleOnce records nothing when the effect fails, so a redelivery applies it", async () => {
    await expect(
      handleOnce(store, "sync", "msg-fail", async (tx) => {
        await appendEvent(tx, { type: "x", source: "stripe", changes: {} });
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    const retry = await handleOnce(store, "sync", "msg-fail", async () => "ok");
    expect(retry).toEqual({ duplicate: false, result: "ok" });
  });

  it("isOrderOutcomeSynced finds each of the order's outcome message ids exactly, under the sync's inbox only", async () => {
    const inbox = (consumer: string, messageId: string) =>
      store.db.inboxMessage.create({ data: { consumer, messageId } });
    const orderIds = ["submitted", "payment", "setup"].map((n) => `order-${n}${"0".repeat(32 - n.length)}`);
    const [submitted, payment, setup] = orderIds as [string, string, string];
    for (const id of orderIds) expect(await isOrderOutcomeSynced(store.db, id)).toBe(false);
    await inbox(SYNC_INBOX, `${submitted}:outcome`);
    await inbox(SYNC_INBOX, `${payment}:payment:outcome`);
    await inbox(SYNC_INBOX, `${setup}:setup-succeeded:outcome`);
    for (const id of orderIds) expect(await isOrderOutcomeSynced(store.db, id)).toBe(true);

    // Another consumer's row, or a message id that merely starts with the order id, is no proof.
    const other = `order-${"f".repeat(32)}`;
    await inbox("order-callbacks", `${other}:outcome`);
    await inbox(SYNC_INBOX, `${other}:something-else`);
    expect(await isOrderOutcomeSynced(store.db, other)).toBe(false);
  });

  it("records order steps once, keeping the first result", async () => {
    await recordStep(store.db, "order-a", "customer", { id: "cus_1" });
    await recordStep(store.db, "order-a", "customer", { id: "cus_2" });
    await recordStep(store.db, "order-a", "subscription", { id: "sub_1" });
    const steps = await completedSteps(store.db, "order-a");
    expect([...steps.keys()]).toEqual(["customer", "subscription"]);
    expect(steps.get("customer")).toEqual({ id: "cus_1" });
  });

  it("records an order once and finds it by external id", async () => {
    const order = {
      id: "order-1",
      reference: "ABCDEFGHJKLM",
      type: "new",
      source: "shop",
      externalId: "ext-1",
      subscriptionId: "sub-1",
      status: "queued" as const,
      payload: { order_type: "new" },
    };
    await recordOrder(store.db, order);
    await recordOrder(store.db, { ...order, status: "failed" });
    const found = await findOrderByExternalId(store.db, "shop", "ext-1");
    expect(found?.status).toBe("queued");
  });

  it("finds subscriptions by Stripe id and reads their detail with the audit log", async () => {
    await seedSubscription("sub-00000000000000000000000000000001", "sub_abc");
    const sub = await findSubscriptionByStripeId(store.db, "sub_abc");
    expect(sub?.id).toBe("sub-00000000000000000000000000000001");
    await appendEvent(store.db, {
      subscriptionId: sub!.id,
      type: "subscription.status_changed",
      source: "stripe",
      changes: { status: { from: "active", to: "cancelled" } },
    });
    const detail = await findSubscriptionDetail(store.db, sub!.id);
    expect(detail?.customer.email).toContain("@example.com");
    expect(await listEventsForSubscription(store.db, sub!.id)).toHaveLength(1);
  });

  it("refuses a second Limio subscription linked to the same Stripe subscription", async () => {
    await seedSubscription("sub-00000000000000000000000000000002", "sub_dup");
    await expect(seedSubscription("sub-00000000000000000000000000000003", "sub_dup")).rejects.toThrow();
  });

  it("counts unmatched Stripe subscriptions without inventing Limio ones", async () => {
    await recordUnmatched(store.db, {
      stripeSubscriptionId: "sub_x",
      eventId: "evt_1",
      eventType: "customer.subscription.updated",
    });
    await recordUnmatched(store.db, {
      stripeSubscriptionId: "sub_x",
      eventId: "evt_2",
      eventType: "invoice.paid",
    });
    const [row] = await listUnmatched(store.db);
    expect(row).toMatchObject({ stripeSubscriptionId: "sub_x", seenCount: 2, lastEventId: "evt_2" });
    expect(await findSubscriptionByStripeId(store.db, "sub_x")).toBeNull();
  });

  it("upserts catalog offers idempotently", async () => {
    const offer = {
      id: "offer-digital",
      version: "v1",
      name: "Digital",
      stripeProductCode: "prod_digital",
      autoRenew: true,
      charges: [],
      raw: {},
    };
    await upsertOffers(store.db, [offer]);
    await upsertOffers(store.db, [{ ...offer, name: "Digital monthly" }]);
    const offers = await store.db.offer.findMany();
    expect(offers).toHaveLength(1);
    expect(offers[0]?.name).toBe("Digital monthly");
  });

  it("answers readiness pings", async () => {
    expect(await store.ping()).toBe(true);
  });
});

describe("catalog loading", () => {
  it("loads the demo catalog into offers, and refuses an invalid one naming the field", async () => {
    const { readFile } = await import("node:fs/promises");
    const { demoCatalogUrl } = await import("@bridge/domain");
    const json = JSON.parse(await readFile(demoCatalogUrl, "utf8"));
    const { loadCatalog } = await import("./index.ts");
    const loaded = await loadCatalog(store.db, json);
    expect(loaded.offers).toHaveLength(json.offers.length);
    expect(loaded.offers.every((o) => o.change === "added")).toBe(true);
    const monthly = await store.db.offer.findUnique({ where: { id: json.offers[0].id } });
    expect(monthly).toMatchObject({ stripeProductCode: json.offers[0].stripeProductCode, term: "1 months" });
    await expect(loadCatalog(store.db, { offers: [{ ...json.offers[0], charges: [] }] })).rejects.toThrow(
      /offers\.0\.charges/,
    );
  });
});

describe("one pg pool per store", () => {
  it("bounds the wait for a connection and each statement: past either, the store is unavailable", async () => {
    const bounded = createStore(await freshDatabase("bounded_pool"), {
      poolSize: 1,
      connectionTimeoutMs: 200,
      statementTimeoutMs: 1_000,
    });
    try {
      // The one connection is busy: the next query gives up after connectionTimeoutMs, not when it frees.
      const busy = bounded.sql("SELECT 1 AS slept FROM pg_sleep(0.6)", []);
      let started = Date.now();
      const waited = await bounded.sql("SELECT 1", []).catch((error: unknown) => error);
      expect(isStoreUnavailable(waited)).toBe(true);
      expect(Date.now() - started).toBeLessThan(550);
      await busy;

      // A statement slower than statementTimeoutMs is cancelled by Postgres (57014), through pg and Prisma.
      started = Date.now();
      const viaSql = await bounded.sql("SELECT pg_sleep(5)", []).catch((error: unknown) => error);
      expect(isStoreUnavailable(viaSql)).toBe(true);
      const viaPrisma = await bounded.db.$queryRaw`SELECT pg_sleep(5)`.catch((error: unknown) => error);
      expect(isStoreUnavailable(viaPrisma)).toBe(true);
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(await bounded.sql<{ ok: number }>("SELECT 1 AS ok", [])).toEqual([{ ok: 1 }]);
    } finally {
      await bounded.close();
    }
  });

  it("holds at most poolSize connections while Prisma and sql query at once, and none after close()", async () => {
    const databaseUrl = await freshDatabase("one_pool");
    const tagged = new URL(databaseUrl);
    tagged.searchParams.set("application_name", "store-one-pool");
    const poolSize = 3;
    const pooled = createStore(tagged.toString(), { poolSize });
    const observer = new pg.Client({ connectionString: databaseUrl });
    await observer.connect();
    const openConnections = async () =>
      (
        await observer.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'store-one-pool'",
        )
      ).rows[0]?.n ?? 0;
    try {
      let done = false;
      const work = Promise.all([
        ...Array.from({ length: 8 }, () => pooled.db.$queryRaw`SELECT 1 AS "slept" FROM pg_sleep(0.1)`),
        ...Array.from({ length: 8 }, () => pooled.sql("SELECT 1 AS slept FROM pg_sleep(0.1)", [])),
      ]).finally(() => {
        done = true;
      });
      let most = 0;
      while (!done) most = Math.max(most, await openConnections());
      await work;
      // Two pools (Prisma's own plus a separate one for sql) reached poolSize + 4 here.
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(poolSize);

      await pooled.close();
      await pooled.close(); // a second close is harmless
      await vi.waitFor(async () => expect(await openConnections()).toBe(0), { timeout: 5_000, interval: 20 });
    } finally {
      await observer.end();
    }
  });
});
