import { type RunningEmulator, startEmulator } from "@bridge/stripe-emulator";
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
    const elsewhere = await stripe.customers.create({ email: "Ada.Lovelace@Example.com" });
    expect((await lookups.findCustomerByEmail("ada.lovelace@example.com"))?.id).toBe(elsewhere.id);
    expect((await lookups.findCustomerByEmail(" ADA.LOVELACE@EXAMPLE.COM "))?.id).toBe(elsewhere.id);
    const ours = await stripe.customers.create({ email: "grace@example.com" });
    expect((await lookups.findCustomerByEmail("Grace@Example.com"))?.id).toBe(ours.id);
    expect(await lookups.findCustomerByEmail("nobody@example.com")).toBeUndefined();
  });
});
