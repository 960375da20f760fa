import { randomUUID } from "node:crypto";
import { dlqTopicOf } from "@bridge/messaging";
import { findSubscriptionDetail, listEventsForSubscription } from "@bridge/store";
import { describe, expect, it } from "vitest";
import {
  advanceClock,
  declineRenewals,
  seedLimioSubscription,
  stripeSubscription,
  subscriptionFetches,
  topicSize,
  useWebhookHarness,
  utc,
} from "../test/harness.ts";

// The motivating cases of the Limio Stripe sync, end to end with nobody calling any API: the
// emulator's signed webhooks → a receiver publishing stripe.event.received exactly as the gateway
// does → Kafka → the sync-consumer → Postgres.

const ctx = useWebhookHarness({
  emulator: { dunning: { retries: 3, intervalSeconds: 3 * 86400, finalStatus: "canceled" } },
});

const hex = () => randomUUID().replaceAll("-", "");
const at = (seconds: number) => new Date(seconds * 1000).toISOString();
const outcomeOf = (eventId: string) =>
  ctx.h.outcomes.filter((o) => o.eventId === eventId).map((o) => o.outcome);

async function nothingPublishedByTheConsumer() {
  // The sync-consumer publishes only change events (their own topic): no orders, no sync
  // requests, no dead letters; the only messages on these topics are the receiver's webhooks.
  expect(await topicSize(ctx.h.kafka, ctx.h.topics.orders)).toBe(0);
  expect(await topicSize(ctx.h.kafka, ctx.h.topics.sync)).toBe(0);
  expect(await topicSize(ctx.h.kafka, ctx.h.topics.orderOutcomes)).toBe(0);
  expect(await topicSize(ctx.h.kafka, ctx.h.topics.stripeEvents)).toBe(ctx.receiver.published.length);
  for (const t of [ctx.h.topics.stripeEvents, ctx.h.topics.sync, ctx.h.topics.orderOutcomes]) {
    expect(await topicSize(ctx.h.kafka, dlqTopicOf(t))).toBe(0);
  }
}

describe("Stripe-initiated changes reach the Limio subscription", () => {
  it("renewal, then cancellation after failed payments (test clock); Limio-initiated events are not synced", async () => {
    const orderId = `order-${hex()}`;
    const limioSubId = `sub-${hex()}`;
    const start = utc(2026, 1, 15);
    // Created the way the writer does: Limio metadata and `limio:<order>:<step>` idempotency keys.
    const s = await stripeSubscription(ctx.h.stripe, {
      frozenTime: start,
      card: "pm_card_visa",
      metadata: { limio_order_id: orderId, limio_subscription_id: limioSubId, limio_source: "shop" },
      idempotencyPrefix: `limio:${orderId}`,
    });
    const { subscriptionId } = await seedLimioSubscription(ctx.h.store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    await ctx.receiver.settle();
    const creationEvents = [...ctx.receiver.published];
    expect(creationEvents.length).toBeGreaterThan(3);
    // Loop prevention: every event of the Limio-initiated creation is skipped, nothing synced.
    for (const e of creationEvents) expect(outcomeOf(e.id)).toEqual(["skipped_loop"]);
    expect(await listEventsForSubscription(ctx.h.store.db, subscriptionId)).toEqual([]);
    expect(await subscriptionFetches(ctx.h.emu, s.subscription.id)).toBe(0);

    // A Limio-initiated change (the writer cancelling at period end for an order) is not synced either.
    await ctx.h.stripe.subscriptions.update(
      s.subscription.id,
      { cancel_at_period_end: true, metadata: { limio_order_id: `order-${hex()}` } },
      { idempotencyKey: `limio:order-${hex()}:cancel` },
    );
    await ctx.h.stripe.subscriptions.update(
      s.subscription.id,
      { cancel_at_period_end: false },
      { idempotencyKey: `limio:order-${hex()}:undo` },
    );
    await ctx.receiver.settle();
    for (const e of ctx.receiver.published.slice(creationEvents.length))
      expect(outcomeOf(e.id)).toEqual(["skipped_loop"]);
    expect(await listEventsForSubscription(ctx.h.store.db, subscriptionId)).toEqual([]);

    // Renewal in Stripe (Feb 15): Limio's term moves, the payment is recorded, nobody called an API.
    await advanceClock(ctx.h.stripe, s.clock!.id, utc(2026, 2, 16));
    await ctx.receiver.settle();
    let sub = await findSubscriptionDetail(ctx.h.store.db, subscriptionId);
    expect(sub).toMatchObject({ status: "active", stripeStatus: "active", source: "stripe" });
    expect(sub?.termStart?.toISOString()).toBe(at(utc(2026, 2, 15)));
    expect(sub?.termEnd?.toISOString()).toBe(at(utc(2026, 3, 15)));
    expect(sub?.paymentSchedules.filter((p) => p.status === "paid")).toHaveLength(2);
    expect(sub?.paymentMethod).toMatchObject({ brand: "visa", last4: "4242" });

    // The customer's card is swapped in Stripe for one that declines: renewal fails on Mar 15,
    // Smart Retries on Mar 18, 21, 24 fail, Stripe cancels the subscription.
    const failing = await declineRenewals(ctx.h.stripe, s.customer.id);
    await advanceClock(ctx.h.stripe, s.clock!.id, utc(2026, 3, 16));
    await ctx.receiver.settle();
    sub = await findSubscriptionDetail(ctx.h.store.db, subscriptionId);
    expect(sub).toMatchObject({ status: "active", stripeStatus: "past_due" });
    expect(sub?.paymentSchedules.filter((p) => p.status === "failed")).toHaveLength(1);
    expect(sub?.paymentMethod?.stripePaymentMethodId).toBe(failing.id);

    await advanceClock(ctx.h.stripe, s.clock!.id, utc(2026, 4, 15));
    await ctx.receiver.settle();
    sub = await findSubscriptionDetail(ctx.h.store.db, subscriptionId);
    expect(sub).toMatchObject({ status: "cancelled", stripeStatus: "canceled", cancelAtTermEnd: false });
    expect(sub?.endedAt?.toISOString()).toBe(at(utc(2026, 3, 24)));
    // No renewal after the cancellation is predicted.
    expect(sub?.paymentSchedules.filter((p) => p.status === "scheduled")).toEqual([]);

    // Exactly one Limio update to cancelled, caused by Stripe; every synced change audited as `stripe`.
    const audit = await listEventsForSubscription(ctx.h.store.db, subscriptionId);
    const cancellations = audit.filter(
      (e) =>
        e.type === "subscription.status_changed" &&
        (e.changes as { status?: { to?: string } }).status?.to === "cancelled",
    );
    expect(cancellations).toHaveLength(1);
    expect(audit.every((e) => e.source === "stripe")).toBe(true);
    const skipped = ctx.h.outcomes.filter((o) => o.outcome === "skipped_loop").length;
    expect(skipped).toBeGreaterThanOrEqual(creationEvents.length);
    const counted = await ctx.h.registry.getSingleMetric("sync_skipped_loop_total")?.get();
    expect(counted?.values[0]?.value).toBe(skipped);
    await nothingPublishedByTheConsumer();
  });
});

describe("the shop finishing the first payment", () => {
  it("is synced although the objects carry Limio metadata: only the bridge's own requests are skipped", async () => {
    const orderId = `order-${hex()}`;
    const limioSubId = `sub-${hex()}`;
    const key = (step: string) => ({ idempotencyKey: `limio:${orderId}:${step}` });
    const metadata = { limio_order_id: orderId, limio_subscription_id: limioSubId, limio_source: "shop" };
    // What the writer does for a new order without a payment method: an incomplete subscription.
    const customer = await ctx.h.stripe.customers.create(
      { email: `shop-${hex().slice(0, 6)}@example.com`, metadata },
      key("customer"),
    );
    const price = await ctx.h.stripe.prices.create(
      {
        currency: "gbp",
        unit_amount: 999,
        recurring: { interval: "month" },
        product_data: { name: "Digital" },
      },
      key("price"),
    );
    const subscription = await ctx.h.stripe.subscriptions.create(
      {
        customer: customer.id,
        items: [{ price: price.id }],
        payment_behavior: "default_incomplete",
        metadata,
      },
      key("subscription"),
    );
    const { subscriptionId } = await seedLimioSubscription(ctx.h.store, {
      stripeSubscriptionId: subscription.id,
      stripeCustomerId: customer.id,
    });
    await ctx.h.store.db.subscription.update({
      where: { id: subscriptionId },
      data: { status: "pending", stripeStatus: "incomplete" },
    });
    await ctx.receiver.settle();
    const before = ctx.receiver.published.length;

    // The shopper confirms in the browser: a request that is not the bridge's (no `limio:` key).
    const card = await ctx.h.stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    await ctx.h.stripe.invoices.pay(subscription.latest_invoice as string, { payment_method: card.id });
    await ctx.receiver.settle();

    const paymentEvents = ctx.receiver.published.slice(before);
    expect(paymentEvents.length).toBeGreaterThan(0);
    expect(paymentEvents.some((e) => outcomeOf(e.id).includes("skipped_loop"))).toBe(false);
    const sub = await findSubscriptionDetail(ctx.h.store.db, subscriptionId);
    expect(sub).toMatchObject({ status: "active", stripeStatus: "active" });
    const activated = (await listEventsForSubscription(ctx.h.store.db, subscriptionId)).filter(
      (e) => e.type === "subscription.status_changed",
    );
    expect(activated).toHaveLength(1);
    expect(activated[0]).toMatchObject({
      source: "stripe",
      changes: { status: { from: "pending", to: "active" } },
    });
  });
});

describe("bursts", () => {
  it("10 events for one subscription cause at most 2 subscription fetches, and the last change is applied", async () => {
    const s = await stripeSubscription(ctx.h.stripe);
    const { subscriptionId } = await seedLimioSubscription(ctx.h.store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    await ctx.receiver.settle();
    const before = await subscriptionFetches(ctx.h.emu, s.subscription.id);
    const already = new Set(ctx.receiver.published.map((e) => e.id));

    // Ten Stripe-side changes in a row (as a Dashboard user would), delivered as a burst.
    ctx.receiver.pause();
    for (let i = 1; i <= 10; i++) {
      await ctx.h.stripe.subscriptions.update(s.subscription.id, { cancel_at_period_end: i % 2 === 0 });
    }
    await ctx.h.emu.flushWebhooks();
    const burst = ctx.receiver.held().filter((e) => e.type === "customer.subscription.updated");
    expect(burst).toHaveLength(10);
    await ctx.receiver.resume();
    await ctx.receiver.settle();

    const fetches = (await subscriptionFetches(ctx.h.emu, s.subscription.id)) - before;
    console.info(
      `[burst] 10 customer.subscription.updated events → ${fetches} GET /v1/subscriptions/${s.subscription.id}`,
    );
    expect(fetches).toBeGreaterThanOrEqual(1);
    expect(fetches).toBeLessThanOrEqual(2);
    const outcomes = burst.map((e) => outcomeOf(e.id)[0]);
    expect(outcomes.filter((o) => o === "synced").length).toBe(fetches);
    expect(outcomes.filter((o) => o === "skipped_coalesced").length).toBe(10 - fetches);
    expect(ctx.receiver.published.filter((e) => !already.has(e.id)).length).toBeGreaterThanOrEqual(10);
    // The last change (cancel at period end = true) is in Limio: coalescing never misses a change.
    expect(await findSubscriptionDetail(ctx.h.store.db, subscriptionId)).toMatchObject({
      cancelAtTermEnd: true,
    });
  });
});
