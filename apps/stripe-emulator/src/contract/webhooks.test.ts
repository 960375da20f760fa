import type Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Harness, type Json, json, startHarness, startReceiver } from "../../test/contract-harness.ts";

let h: Harness;
let stripe: Stripe;
beforeAll(async () => {
  h = await startHarness({ webhookDelivery: { maxAttempts: 3, backoffMs: 5 } });
  stripe = h.stripe;
});
afterAll(async () => {
  await h.stop();
});
beforeEach(async () => {
  await h.http("POST", "/_emulator/reset");
});

describe("webhook delivery", () => {
  it("delivers only the enabled event types to an endpoint; '*' gets everything", async () => {
    const narrow = await startReceiver(stripe);
    const wide = await startReceiver(stripe);
    const e1 = await stripe.webhookEndpoints.create({
      url: narrow.url,
      enabled_events: ["customer.created"],
    });
    const e2 = await stripe.webhookEndpoints.create({ url: wide.url, enabled_events: ["*"] });
    narrow.setSecret(e1.secret!);
    wide.setSecret(e2.secret!);
    const customer = await stripe.customers.create({ email: "w@example.com" });
    await stripe.customers.update(customer.id, { name: "W" });
    await stripe.products.create({ name: "P" });
    await h.http("POST", "/_emulator/webhooks/flush");
    expect(narrow.received.map((r) => r.event.type)).toEqual(["customer.created"]);
    // Unordered, as Stripe's (https://docs.stripe.com/webhooks#event-ordering).
    expect(wide.received.map((r) => r.event.type).sort()).toEqual([
      "customer.created",
      "customer.updated",
      "product.created",
    ]);
    expect([...narrow.rejected, ...wide.rejected]).toEqual([]);
    // The payload is the stored event, byte for byte what constructEvent verified.
    const first = wide.received.find((r) => r.event.type === "customer.created")!;
    const stored = await stripe.events.retrieve(first.event.id);
    expect(JSON.parse(first.rawBody).data).toEqual(JSON.parse(JSON.stringify(stored.data)));
    await Promise.all([narrow.close(), wide.close()]);
  });

  it("retries a failing endpoint with backoff and gives up after maxAttempts", async () => {
    const down = await startReceiver(stripe, { failFirst: 100 });
    const endpoint = await stripe.webhookEndpoints.create({ url: down.url, enabled_events: ["*"] });
    down.setSecret(endpoint.secret!);
    const customer = await stripe.customers.create({});
    const flushed = await json(await h.http("POST", "/_emulator/webhooks/flush"));
    const deliveries = (flushed.deliveries as Json[]).filter((d) => d.endpointId === endpoint.id);
    expect(deliveries).toEqual([
      {
        eventId: expect.stringMatching(/^evt_/),
        endpointId: endpoint.id,
        attempts: 3,
        lastStatus: 500,
        delivered: false,
        enqueuedAt: expect.any(Number),
        deliveredAt: null,
      },
    ]);
    const event = (await stripe.events.list({ type: "customer.created" })).data[0]!;
    expect((event.data.object as Stripe.Customer).id).toBe(customer.id);
    expect(event.pending_webhooks).toBe(1);
    await down.close();
  });
});

describe("test clock deletion and state dump", () => {
  it("deleting a clock deletes its customers; /_emulator/state dumps the store", async () => {
    const clock = await stripe.testHelpers.testClocks.create({
      frozen_time: 1_800_000_000,
      name: "to delete",
    });
    const customer = await stripe.customers.create({ test_clock: clock.id });
    expect(customer.test_clock).toBe(clock.id);
    const state = await json(await h.http("GET", "/_emulator/state"));
    expect(state.customer.map((c: Json) => c.id)).toContain(customer.id);
    expect(await stripe.testHelpers.testClocks.del(clock.id)).toMatchObject({ id: clock.id, deleted: true });
    const missing = await stripe.customers.retrieve(customer.id).catch((e) => e);
    expect(missing.statusCode).toBe(404);
    const list = await stripe.testHelpers.testClocks.list();
    expect(list.data).toEqual([]);
  });
});

// docs.stripe.com/webhooks/versioning: an endpoint with an api_version receives events rendered in
// that version. Basil (2025-03-31) moved invoice.subscription to parent.subscription_details and
// the subscription's current period to its items.
describe("webhook payloads in the endpoint's api_version", () => {
  it("an endpoint pinned before basil gets invoice.subscription and the subscription's period", async () => {
    const current = await startReceiver(stripe);
    const old = await startReceiver(stripe);
    const e1 = await stripe.webhookEndpoints.create({
      url: current.url,
      enabled_events: ["invoice.created", "customer.subscription.created"],
    });
    const e2 = await stripe.webhookEndpoints.create({
      url: old.url,
      enabled_events: ["invoice.created", "invoice.finalized", "customer.subscription.created"],
      api_version: "2025-02-24.acacia",
    });
    current.setSecret(e1.secret!);
    old.setSecret(e2.secret!);
    const customer = await stripe.customers.create({ email: "versions@example.com" });
    const product = await stripe.products.create({ name: "Versions" });
    const price = await stripe.prices.create({
      product: product.id,
      currency: "gbp",
      unit_amount: 500,
      recurring: { interval: "month" },
    });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "default_incomplete",
    });
    await h.http("POST", "/_emulator/webhooks/flush");
    const objectOf = (r: typeof current, type: string) =>
      r.received.find((x) => x.event.type === type)!.event as unknown as Json;
    const newInvoice = objectOf(current, "invoice.created").data.object;
    const oldInvoice = objectOf(old, "invoice.created").data.object;
    expect(newInvoice).not.toHaveProperty("subscription");
    expect(newInvoice.parent.subscription_details.subscription).toBe(sub.id);
    expect(oldInvoice.subscription).toBe(sub.id);
    // A draft has no PaymentIntent yet; the finalized invoice names it, as before basil.
    expect(oldInvoice.payment_intent).toBeNull();
    expect(objectOf(old, "invoice.finalized").data.object.payment_intent).toMatch(/^pi_/);
    expect(objectOf(old, "invoice.created").api_version).toBe("2025-02-24.acacia");
    const oldSub = objectOf(old, "customer.subscription.created").data.object;
    expect(oldSub.current_period_end).toBe(sub.items.data[0]!.current_period_end);
    expect(objectOf(current, "customer.subscription.created").data.object).not.toHaveProperty(
      "current_period_end",
    );
    await Promise.all([current.close(), old.close()]);
  });

  it("refuses an api_version the emulator cannot render", async () => {
    const error = await stripe.webhookEndpoints
      .create({ url: "https://example.com/hook", enabled_events: ["*"], api_version: "2025-06-30.basil" })
      .catch((e) => e);
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe("api_version");
  });
});
