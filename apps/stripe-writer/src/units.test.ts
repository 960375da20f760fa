import { type NewOrderPlan, subscriptionCreateMetadata, subscriptionCreateParams } from "@bridge/domain";
import { createStore } from "@bridge/store";
import { freshDatabase } from "@bridge/testkit";
import { describe, expect, it } from "vitest";
import { customerDetails, normaliseEmail, recordPlan, replayPlan } from "./actions/new-order.ts";
import { loadConfig } from "./config.ts";
import { parseCrashPoint } from "./crash.ts";
import { BoundedCache, createStripeLookups } from "./lookups.ts";
import { loadOrderSteps } from "./steps.ts";

describe("new order details", () => {
  it("normalises the email and maps billing → address, delivery → shipping", () => {
    expect(normaliseEmail("  Ada@Example.COM ")).toBe("ada@example.com");
    const details = customerDetails({
      email: "Ada@Example.com",
      billingDetails: { firstName: "Ada", lastName: "L", address1: "1 A St", country: "GB" },
      deliveryDetails: { firstName: "Bo", address1: "2 B St", country: "GB" },
    } as never);
    expect(details).toEqual({
      email: "ada@example.com",
      name: "Ada L",
      address: { line1: "1 A St", country: "GB" },
      shipping: { name: "Bo", address: { line1: "2 B St", country: "GB" } },
    });
  });
});

describe("a fixed term's recorded plan", () => {
  it("sends Stripe exactly the recorded start + term as cancel_at, to the second, also from a start with milliseconds", () => {
    // A plan dated from the writer's clock (new Date(): milliseconds), a 12-month fixed term.
    const plan = {
      billingStart: new Date("2026-01-31T10:00:00.999Z"),
      cancelAt: new Date("2027-01-31T10:00:00.999Z"),
      items: [],
      addInvoiceItems: [],
    } as unknown as NewOrderPlan;
    const recorded = recordPlan(plan);
    const termEnd = new Date(recorded.billingStart * 1000);
    termEnd.setUTCMonth(termEnd.getUTCMonth() + 12);
    expect(recorded.cancelAt).toBe(termEnd.getTime() / 1000);
    // A resumed order replays the record: the same second, never one off by rounding.
    expect(subscriptionCreateParams(replayPlan(recorded), () => "price_x").cancel_at).toBe(recorded.cancelAt);
  });

  it("records the term end it sends as cancel_at in the subscription's metadata (limio_term_end), the same second", () => {
    const plan = {
      offerId: "offer-fixed",
      term: { length: 12, type: "months" },
      autoRenew: false,
      billingStart: new Date("2026-01-31T10:00:00.999Z"),
      cancelAt: new Date("2027-01-31T10:00:00.999Z"),
      items: [],
      addInvoiceItems: [],
    } as unknown as NewOrderPlan;
    const replayed = replayPlan(recordPlan(plan));
    const cancelAt = subscriptionCreateParams(replayed, () => "price_x").cancel_at;
    expect(subscriptionCreateMetadata(replayed)).toEqual({
      limio_offer_id: "offer-fixed",
      limio_term_length: "12",
      limio_term_type: "months",
      limio_auto_renew: "false",
      limio_term_end: String(cancelAt),
    });
    expect(cancelAt).toBe(Date.UTC(2027, 0, 31, 10) / 1000);
    // A renewing term has no end to record.
    const { cancelAt: _, ...renewing } = replayed;
    expect(subscriptionCreateMetadata({ ...renewing, autoRenew: true })).not.toHaveProperty("limio_term_end");
  });
});

describe("ensureProduct", () => {
  it("reuses the catalog product another order created between its look-up and its create", async () => {
    const missing = Object.assign(new Error("No such product"), {
      statusCode: 404,
      code: "resource_missing",
    });
    const exists = Object.assign(new Error("Product already exists."), {
      statusCode: 400,
      code: "resource_already_exists",
    });
    const calls: string[] = [];
    const stripe = {
      products: {
        retrieve: async () => {
          calls.push("retrieve");
          throw missing;
        },
        create: async () => {
          calls.push("create");
          throw exists;
        },
      },
    } as unknown as Parameters<typeof createStripeLookups>[0];
    const lookups = createStripeLookups(stripe, { maxEntries: 10 });
    const offer = { stripeProductCode: "prod_LedgerDigital01", name: "Digital" } as Parameters<
      typeof lookups.ensureProduct
    >[0];
    expect(await lookups.ensureProduct(offer, "limio:order-2:product", {})).toEqual({
      productId: "prod_LedgerDigital01",
      created: false,
    });
    // Known from now on: no further Stripe call for it.
    await lookups.ensureProduct(offer, "limio:order-3:product", {});
    expect(calls).toEqual(["retrieve", "create"]);
  });
});

describe("BoundedCache", () => {
  it("forgets the least recently used entry past its bound", () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).toBe(1); // a is now the most recent
    cache.set("c", 3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe(1);
    expect(cache.size).toBe(2);
  });
});

describe("config", () => {
  const env = {
    KAFKA_BROKERS: "127.0.0.1:9092",
    DATABASE_URL: "postgresql://x@127.0.0.1/db",
    STRIPE_SECRET_KEY: "sk_test_x",
  };
  it("splits HOOK_MODULES and validates the test-only crash switch", () => {
    expect(loadConfig({ ...env, HOOK_MODULES: "./a.ts, ./b.ts" }).HOOK_MODULES).toEqual(["./a.ts", "./b.ts"]);
    expect(loadConfig(env).WRITER_CRASH_AT).toBeUndefined();
    expect(
      parseCrashPoint(loadConfig({ ...env, WRITER_CRASH_AT: "price.0:after-record" }).WRITER_CRASH_AT),
    ).toEqual({ step: "price.0", when: "after-record" });
    expect(() => loadConfig({ ...env, WRITER_CRASH_AT: "price" })).toThrow(/WRITER_CRASH_AT/);
  });
});

describe("step runner", () => {
  it("runs a step once with its idempotency key, records it, and replays the record on a redelivery", async () => {
    const store = createStore(await freshDatabase("writer_steps"));
    try {
      const orderId = "order-0123456789abcdef0123456789abcdef";
      const keys: string[] = [];
      const first = await loadOrderSteps({ db: store.db, orderId });
      expect(
        await first.step("customer", async (key) => {
          keys.push(key);
          return { customerId: "cus_1" };
        }),
      ).toEqual({
        customerId: "cus_1",
      });
      await expect(first.step("price.0", async () => Promise.reject(new Error("boom")))).rejects.toThrow(
        "boom",
      );
      const again = await loadOrderSteps({ db: store.db, orderId });
      expect([...again.replayed]).toEqual(["customer"]);
      expect(await again.step("customer", async () => ({ customerId: "cus_other" }))).toEqual({
        customerId: "cus_1",
      });
      expect(
        await again.step("price.0", async (key) => {
          keys.push(key);
          return { priceId: "price_1" };
        }),
      ).toEqual({
        priceId: "price_1",
      });
      expect(keys).toEqual([`limio:${orderId}:customer`, `limio:${orderId}:price.0`]);
    } finally {
      await store.close();
    }
  });
});
