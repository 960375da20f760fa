import {
  createStore,
  findSubscriptionDetail,
  handleOnce,
  listEventsForSubscription,
  type Store,
} from "@bridge/store";
import {
  CONSUMER,
  type SyncContext,
  type SyncDeps,
  syncStore,
  syncSubscriptionInTx,
} from "@bridge/sync-core";
import { freshDatabase } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  advanceClock,
  catalogOffer,
  directDeps,
  type Emulated,
  seedLimioSubscription,
  startStripe,
  stripeSubscription,
  utc,
} from "../test/harness.ts";

let stripe: Emulated;
let store: Store;
let deps: SyncDeps;
let n = 0;

beforeAll(async () => {
  stripe = await startStripe();
  store = createStore(await freshDatabase("apply-sync"), { poolSize: 4 });
  deps = directDeps(store, stripe.stripe);
});
afterAll(async () => {
  await store?.close();
  await stripe?.emu.stop();
});

/** One sync exactly as a handler runs it: inbox row + sync in one transaction. */
async function sync(subscriptionId: string, ctx: Partial<SyncContext> = {}) {
  const messageId = `test-${++n}`;
  const r = await handleOnce(syncStore(store), CONSUMER, messageId, (tx) =>
    syncSubscriptionInTx(tx, deps, subscriptionId, { trigger: "api", causeId: messageId, ...ctx }),
  );
  if (r.duplicate) throw new Error("unexpected duplicate");
  return r.result;
}

describe("sync core against the emulator and Postgres", () => {
  it("(1) status and term dates follow Stripe, with one audit event per kind of change", async () => {
    const s = await stripeSubscription(stripe.stripe, { frozenTime: utc(2026, 1, 15) });
    const { subscriptionId } = await seedLimioSubscription(store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });

    const first = await sync(subscriptionId);
    expect(first.kind).toBe("applied");
    let sub = await findSubscriptionDetail(store.db, subscriptionId);
    expect(sub).toMatchObject({ status: "active", stripeStatus: "active", cancelAtTermEnd: false });
    expect(sub?.termStart?.toISOString()).toBe(new Date(utc(2026, 1, 15) * 1000).toISOString());
    expect(sub?.termEnd?.toISOString()).toBe(new Date(utc(2026, 2, 15) * 1000).toISOString());
    expect(sub?.lastSyncedAt).not.toBeNull();
    expect(sub?.stripeRaw).toMatchObject({ id: s.subscription.id, customer: s.customer.id });

    // Renewal in Stripe moves the term; nothing else happened, so a second sync changes nothing.
    await advanceClock(stripe.stripe, s.clock!.id, utc(2026, 2, 16));
    const renewed = await sync(subscriptionId);
    expect(renewed.kind === "applied" && renewed.events).toContain("subscription.term_changed");
    sub = await findSubscriptionDetail(store.db, subscriptionId);
    expect(sub?.termStart?.toISOString()).toBe(new Date(utc(2026, 2, 15) * 1000).toISOString());
    expect(sub?.termEnd?.toISOString()).toBe(new Date(utc(2026, 3, 15) * 1000).toISOString());

    const again = await sync(subscriptionId);
    expect(again).toEqual({ kind: "applied", subscriptionId, events: [], read: expect.anything() });

    // Cancellation at period end, then immediate cancellation.
    await stripe.stripe.subscriptions.update(s.subscription.id, { cancel_at_period_end: true });
    await sync(subscriptionId);
    sub = await findSubscriptionDetail(store.db, subscriptionId);
    expect(sub).toMatchObject({ status: "active", cancelAtTermEnd: true });
    await stripe.stripe.subscriptions.cancel(s.subscription.id);
    await sync(subscriptionId, { trigger: "operator" });
    sub = await findSubscriptionDetail(store.db, subscriptionId);
    expect(sub).toMatchObject({ status: "cancelled", stripeStatus: "canceled" });
    expect(sub?.endedAt).not.toBeNull();

    const events = await listEventsForSubscription(store.db, subscriptionId);
    const statusEvents = events.filter((e) => e.type === "subscription.status_changed");
    expect(statusEvents.map((e) => (e.changes as { status?: { to: string } }).status?.to ?? null)).toEqual([
      "active",
      null, // cancelAtTermEnd only
      "cancelled",
    ]);
    expect(statusEvents.at(-1)).toMatchObject({ source: "operator" });
    expect(statusEvents.at(-1)?.changes).toMatchObject({ stripeStatus: { from: "active", to: "canceled" } });
  });

  it("(2) payment schedules: paid invoices and the upcoming charge; the prediction is replaced after renewal", async () => {
    const s = await stripeSubscription(stripe.stripe, { frozenTime: utc(2026, 1, 15), amount: 1299 });
    const { subscriptionId } = await seedLimioSubscription(store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    await sync(subscriptionId);
    let schedules = (await findSubscriptionDetail(store.db, subscriptionId))!.paymentSchedules;
    expect(schedules.map((p) => [p.status, p.amount, p.currency])).toEqual([
      ["paid", 1299, "GBP"],
      ["scheduled", 1299, "GBP"],
    ]);
    const upcoming = schedules.find((p) => p.status === "scheduled")!;
    expect(upcoming.stripeKey).toBe(`upcoming:${s.subscription.id}:${utc(2026, 2, 15)}`);
    expect(upcoming.periodStart?.toISOString()).toBe(new Date(utc(2026, 2, 15) * 1000).toISOString());

    await advanceClock(stripe.stripe, s.clock!.id, utc(2026, 2, 16));
    await sync(subscriptionId);
    schedules = (await findSubscriptionDetail(store.db, subscriptionId))!.paymentSchedules;
    const byStatus = (st: string) => schedules.filter((p) => p.status === st).map((p) => p.stripeKey);
    expect(byStatus("paid")).toHaveLength(2);
    expect(byStatus("cancelled")).toEqual([upcoming.stripeKey]);
    expect(byStatus("scheduled")).toEqual([`upcoming:${s.subscription.id}:${utc(2026, 3, 15)}`]);

    // Cancelling at period end removes the next charge: the prediction is cancelled, history kept.
    await stripe.stripe.subscriptions.update(s.subscription.id, { cancel_at_period_end: true });
    await sync(subscriptionId);
    schedules = (await findSubscriptionDetail(store.db, subscriptionId))!.paymentSchedules;
    expect(byStatus("scheduled")).toEqual([]);
    expect(byStatus("paid")).toHaveLength(2);
    const events = await listEventsForSubscription(store.db, subscriptionId);
    expect(events.filter((e) => e.type === "subscription.payment_schedules_changed")).toHaveLength(3);
  });

  it("(3) payment method: brand, last four and expiry of the default method, updated when it changes", async () => {
    const s = await stripeSubscription(stripe.stripe, { card: "pm_card_visa" });
    const { subscriptionId } = await seedLimioSubscription(store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    await sync(subscriptionId);
    let pm = (await findSubscriptionDetail(store.db, subscriptionId))!.paymentMethod;
    expect(pm).toMatchObject({
      type: "card",
      brand: "visa",
      last4: "4242",
      stripePaymentMethodId: s.paymentMethod.id,
    });
    expect(pm?.expYear).toBeGreaterThan(2026);

    const mc = await stripe.stripe.paymentMethods.attach("pm_card_mastercard", { customer: s.customer.id });
    await stripe.stripe.customers.update(s.customer.id, {
      invoice_settings: { default_payment_method: mc.id },
    });
    const r = await sync(subscriptionId);
    expect(r.kind === "applied" && r.events).toEqual(["subscription.payment_method_changed"]);
    pm = (await findSubscriptionDetail(store.db, subscriptionId))!.paymentMethod;
    expect(pm).toMatchObject({ brand: "mastercard", last4: "4444", stripePaymentMethodId: mc.id });

    // A method set on the subscription itself wins over the customer's default.
    const amex = await stripe.stripe.paymentMethods.attach("pm_card_amex", { customer: s.customer.id });
    await stripe.stripe.subscriptions.update(s.subscription.id, { default_payment_method: amex.id });
    await sync(subscriptionId);
    pm = (await findSubscriptionDetail(store.db, subscriptionId))!.paymentMethod;
    expect(pm).toMatchObject({ brand: "amex", stripePaymentMethodId: amex.id });
  });

  it("(4) never changes the Limio customer's addresses, name or email", async () => {
    const s = await stripeSubscription(stripe.stripe);
    const { subscriptionId, customerId } = await seedLimioSubscription(store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
      email: "limio.customer@example.com",
    });
    const before = await store.db.customer.findUnique({
      where: { id: customerId },
      include: { addresses: true },
    });
    await stripe.stripe.customers.update(s.customer.id, {
      email: "changed.in.stripe@example.com",
      name: "Someone Else",
      phone: "+1 555 0100",
      address: { line1: "500 Stripe Avenue", city: "San Francisco", country: "US" },
      shipping: {
        name: "Someone Else",
        address: { line1: "501 Stripe Avenue", city: "San Francisco", country: "US" },
      },
    });
    await sync(subscriptionId);
    const after = await store.db.customer.findUnique({
      where: { id: customerId },
      include: { addresses: true },
    });
    expect(after).toEqual(before);
    expect(after?.email).toBe("limio.customer@example.com");
  });

  it("concurrent syncs of one subscription serialise on the row lock: no duplicate schedules, one audit event per change", async () => {
    const s = await stripeSubscription(stripe.stripe);
    const { subscriptionId } = await seedLimioSubscription(store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    // Unlocked, these would all see no schedules and insert the same keys (unique violation).
    const results = await Promise.all(Array.from({ length: 5 }, () => sync(subscriptionId)));
    expect(results.filter((r) => r.kind === "applied" && r.events.length > 0)).toHaveLength(1);
    const sub = await findSubscriptionDetail(store.db, subscriptionId);
    expect(sub?.paymentSchedules).toHaveLength(2);
    const types = (await listEventsForSubscription(store.db, subscriptionId)).map((e) => e.type).sort();
    expect(types).toEqual([
      "subscription.payment_method_changed",
      "subscription.payment_schedules_changed",
      "subscription.status_changed",
      "subscription.term_changed",
    ]);
  });

  it("reports a subscription without a Stripe link, and an unknown one, without calling Stripe", async () => {
    const { subscriptionId } = await seedLimioSubscription(store, {
      stripeSubscriptionId: "sub_placeholder",
      stripeCustomerId: "cus_placeholder",
    });
    await store.db.subscription.update({
      where: { id: subscriptionId },
      data: { stripeSubscriptionId: null },
    });
    expect(await sync(subscriptionId)).toEqual({ kind: "not_linked", subscriptionId });
    expect(await sync("sub-00000000000000000000000000000000")).toMatchObject({ kind: "not_found" });
  });
});

describe("the Limio offer follows what Stripe bills", () => {
  it("moves to the offer named by the billed price's limio_offer_id, once, and ignores offers missing from the catalog", async () => {
    await store.db.offer.createMany({
      data: [catalogOffer("offer-digital"), { ...catalogOffer("offer-print"), version: "print-v2" }],
    });
    const s = await stripeSubscription(stripe.stripe);
    const { subscriptionId } = await seedLimioSubscription(store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    await store.db.subscription.update({
      where: { id: subscriptionId },
      data: { offerId: "offer-digital", offerVersion: "digital-v1" },
    });
    const item = s.subscription.items.data[0]!;
    const upgradeTo = async (offerId: string) => {
      const price = await stripe.stripe.prices.create({
        currency: "gbp",
        unit_amount: 2499,
        recurring: { interval: "month" },
        product: typeof item.price.product === "string" ? item.price.product : item.price.product.id,
        metadata: { limio_offer_id: offerId },
      });
      await stripe.stripe.subscriptions.update(s.subscription.id, {
        items: [{ id: item.id, price: price.id }],
        proration_behavior: "none",
      });
    };

    await upgradeTo("offer-print");
    await sync(subscriptionId);
    await sync(subscriptionId);
    expect((await findSubscriptionDetail(store.db, subscriptionId))?.offerId).toBe("offer-print");
    const offerEvents = (await listEventsForSubscription(store.db, subscriptionId)).filter(
      (e) => e.type === "subscription.offer_changed",
    );
    expect(offerEvents).toHaveLength(1);
    // The subscription now holds the new offer's current version, not the old offer's.
    expect(offerEvents[0]?.changes).toEqual({
      offerId: { from: "offer-digital", to: "offer-print" },
      offerVersion: { from: "digital-v1", to: "print-v2" },
    });
    expect((await findSubscriptionDetail(store.db, subscriptionId))?.offerVersion).toBe("print-v2");

    await upgradeTo("offer-not-in-catalog");
    await sync(subscriptionId);
    expect((await findSubscriptionDetail(store.db, subscriptionId))?.offerId).toBe("offer-print");
  });
});
