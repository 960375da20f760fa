import { advanceClock, type RunningEmulator, startEmulator } from "@bridge/testkit";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStripeLookups } from "./lookups.ts";

let emu: RunningEmulator;
let stripe: Stripe;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, rateLimitPerSecond: 0, logLevel: "silent" });
  stripe = new Stripe("sk_test_lookups", {
    host: emu.host,
    port: emu.port,
    protocol: "http",
    telemetry: false,
    maxNetworkRetries: 0,
  });
});
afterAll(async () => {
  await emu.stop();
});

describe("resolvePrice", () => {
  it("two processes creating the same new price end with one price, the loser reusing it", async () => {
    const product = await stripe.products.create({ name: "Race" });
    const params = {
      currency: "gbp",
      unit_amount: 999,
      product: product.id,
      recurring: { interval: "month" as const, interval_count: 1 },
      nickname: "Race monthly",
      lookup_key: `race-${product.id}`,
      metadata: {},
    };
    // Separate caches, as two writer processes have.
    const [a, b] = await Promise.all([
      createStripeLookups(stripe, { maxEntries: 10 }).resolvePrice(params, "order-a:price.0", {}),
      createStripeLookups(stripe, { maxEntries: 10 }).resolvePrice(params, "order-b:price.0", {}),
    ]);
    expect(a.priceId).toBe(b.priceId);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect((await stripe.prices.list({ lookup_keys: [params.lookup_key] })).data).toHaveLength(1);
  });
});

describe("findCustomerByEmail", () => {
  it("matches a customer created elsewhere with another case, and the bridge's own lower-cased ones", async () => {
    const lookups = createStripeLookups(stripe, { maxEntries: 10 });
    // Search sees a customer a minute after its creation (docs.stripe.com/search#data-freshness):
    // these were created elsewhere a minute ago (on a test clock, advanced past the minute).
    const start = Math.floor(Date.UTC(2026, 0, 15, 12) / 1000);
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: start });
    const elsewhere = await stripe.customers.create({
      email: "Ada.Lovelace@Example.com",
      test_clock: clock.id,
    });
    // Search matches words in order: this one comes back too, and must not be taken for Ada.
    await stripe.customers.create({ email: "Countess.Ada.Lovelace@Example.com", test_clock: clock.id });
    expect(await lookups.findCustomerByEmail("ada.lovelace@example.com")).toBeUndefined();
    await advanceClock(stripe, clock.id, start + 60);
    expect((await lookups.findCustomerByEmail("ada.lovelace@example.com"))?.id).toBe(elsewhere.id);
    expect((await lookups.findCustomerByEmail(" ADA.LOVELACE@EXAMPLE.COM "))?.id).toBe(elsewhere.id);
    // The bridge's own customers (lower-cased) are found at once, through the consistent list.
    const ours = await stripe.customers.create({ email: "grace@example.com" });
    expect((await lookups.findCustomerByEmail("Grace@Example.com"))?.id).toBe(ours.id);
    expect(await lookups.findCustomerByEmail("nobody@example.com")).toBeUndefined();
  });
});
