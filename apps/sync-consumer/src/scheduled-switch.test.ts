import { randomUUID } from "node:crypto";
import { addUnits, LIMIO_OFFER_ID, offerTermMetadata, termEndMetadata } from "@bridge/domain";
import { findSubscriptionDetail } from "@bridge/store";
import { describe, expect, it } from "vitest";
import {
  advanceClock,
  catalogOffer,
  seedLimioSubscription,
  until,
  useWebhookHarness,
  utc,
} from "../test/harness.ts";

// A switch scheduled the way the writer schedules it (decision 015): the new offer and its term
// ride on the second phase's metadata, which Stripe merges into the subscription's when the phase
// starts; the sync reads the offer from the price and the term from that metadata.

const ctx = useWebhookHarness();
const hex = () => randomUUID().replaceAll("-", "");
const at = (seconds: number) => new Date(seconds * 1000).toISOString();

describe("a switch scheduled at the period end, through the sync", () => {
  it("once the clock passes it, Limio shows the new offer and the new offer's term", async () => {
    const from = `offer-monthly-${hex().slice(0, 8)}`;
    const to = `offer-annual-term-${hex().slice(0, 8)}`;
    await ctx.h.store.db.offer.createMany({ data: [catalogOffer(from), catalogOffer(to)] });
    const orderId = `order-${hex()}`;
    const key = (step: string) => ({ idempotencyKey: `limio:${orderId}:${step}` });
    const metadata = { limio_order_id: orderId, limio_subscription_id: `sub-${hex()}`, limio_source: "shop" };
    const start = utc(2026, 3, 1);
    const clock = await ctx.h.stripe.testHelpers.testClocks.create({ frozen_time: start });
    const customer = await ctx.h.stripe.customers.create(
      { email: `switch-${hex().slice(0, 8)}@example.com`, test_clock: clock.id },
      key("customer"),
    );
    const card = await ctx.h.stripe.paymentMethods.attach(
      "pm_card_visa",
      { customer: customer.id },
      key("pm"),
    );
    await ctx.h.stripe.customers.update(
      customer.id,
      { invoice_settings: { default_payment_method: card.id } },
      key("default-pm"),
    );
    const price = (offerId: string, amount: number) =>
      ctx.h.stripe.prices.create(
        {
          currency: "gbp",
          unit_amount: amount,
          recurring: { interval: "month" },
          product_data: { name: offerId },
          metadata: { ...metadata, [LIMIO_OFFER_ID]: offerId },
        },
        key(`price-${offerId}`),
      );
    const monthly = await price(from, 999);
    const cheaper = await price(to, 499);
    const oneMonth = { term: { length: 1, type: "months" as const }, autoRenew: true };
    const twelveMonths = { term: { length: 12, type: "months" as const }, autoRenew: true };
    const subscription = await ctx.h.stripe.subscriptions.create(
      {
        customer: customer.id,
        items: [{ price: monthly.id }],
        metadata: { ...metadata, [LIMIO_OFFER_ID]: from, ...offerTermMetadata(oneMonth) },
      },
      key("subscription"),
    );
    const { subscriptionId } = await seedLimioSubscription(ctx.h.store, {
      stripeSubscriptionId: subscription.id,
      stripeCustomerId: customer.id,
    });
    const periodEnd = subscription.items.data[0]!.current_period_end;
    const schedule = await ctx.h.stripe.subscriptionSchedules.create(
      { from_subscription: subscription.id },
      key("schedule"),
    );
    await ctx.h.stripe.subscriptionSchedules.update(
      schedule.id,
      {
        end_behavior: "release",
        phases: [
          { items: [{ price: monthly.id }], start_date: schedule.phases[0]!.start_date, end_date: periodEnd },
          {
            items: [{ price: cheaper.id }],
            start_date: periodEnd,
            billing_cycle_anchor: "phase_start",
            proration_behavior: "none",
            duration: { interval: "month", interval_count: 1 },
            metadata: { ...metadata, [LIMIO_OFFER_ID]: to, ...offerTermMetadata(twelveMonths) },
          },
        ],
      },
      key("schedule-phases"),
    );
    const requestId = await ctx.h.publishSyncRequest(subscriptionId);
    await until(() => ctx.h.inboxHas([requestId]), 30_000, "the first sync");
    // The next payment is the downgrade's: the schedule's upcoming invoice bills its second phase.
    const before = await findSubscriptionDetail(ctx.h.store.db, subscriptionId);
    expect(
      before?.paymentSchedules
        .filter((p) => p.status === "scheduled")
        .map((p) => [p.dueDate?.toISOString(), p.amount]),
    ).toEqual([[at(periodEnd), 499]]);

    await advanceClock(ctx.h.stripe, clock.id, periodEnd + 86_400);
    await ctx.receiver.settle();
    const limio = await findSubscriptionDetail(ctx.h.store.db, subscriptionId);
    expect(limio?.offerId).toBe(to);
    // The new offer's 12-month term, counted from when billing started (decision 025).
    expect(limio?.termEnd?.toISOString()).toBe(
      at(addUnits(new Date(start * 1000), 12, "months").getTime() / 1000),
    );
  });
});

describe("a switch scheduled on a fixed term, through the sync", () => {
  it("Limio keeps the term's end while the schedule holds it, then shows the subscription ended there", async () => {
    const from = `offer-fixed-${hex().slice(0, 8)}`;
    const to = `offer-fixed-cheaper-${hex().slice(0, 8)}`;
    await ctx.h.store.db.offer.createMany({ data: [catalogOffer(from), catalogOffer(to)] });
    const orderId = `order-${hex()}`;
    const key = (step: string) => ({ idempotencyKey: `limio:${orderId}:${step}` });
    const metadata = { limio_order_id: orderId, limio_subscription_id: `sub-${hex()}`, limio_source: "shop" };
    const start = utc(2026, 3, 1);
    const termEnd = utc(2026, 6, 1);
    const clock = await ctx.h.stripe.testHelpers.testClocks.create({ frozen_time: start });
    const customer = await ctx.h.stripe.customers.create(
      { email: `fixed-${hex().slice(0, 8)}@example.com`, test_clock: clock.id },
      key("customer"),
    );
    const card = await ctx.h.stripe.paymentMethods.attach(
      "pm_card_visa",
      { customer: customer.id },
      key("pm"),
    );
    await ctx.h.stripe.customers.update(
      customer.id,
      { invoice_settings: { default_payment_method: card.id } },
      key("default-pm"),
    );
    const price = (offerId: string, amount: number) =>
      ctx.h.stripe.prices.create(
        {
          currency: "gbp",
          unit_amount: amount,
          recurring: { interval: "month" },
          product_data: { name: offerId },
          metadata: { ...metadata, [LIMIO_OFFER_ID]: offerId },
        },
        key(`price-${offerId}`),
      );
    const monthly = await price(from, 999);
    const cheaper = await price(to, 499);
    const threeMonthsFixed = { term: { length: 3, type: "months" as const }, autoRenew: false };
    // A fixed term as the writer creates it: cancel_at at the term end, recorded in metadata (025).
    const subscription = await ctx.h.stripe.subscriptions.create(
      {
        customer: customer.id,
        items: [{ price: monthly.id }],
        cancel_at: termEnd,
        metadata: {
          ...metadata,
          [LIMIO_OFFER_ID]: from,
          ...offerTermMetadata(threeMonthsFixed),
          ...termEndMetadata(termEnd),
        },
      },
      key("subscription"),
    );
    const { subscriptionId } = await seedLimioSubscription(ctx.h.store, {
      stripeSubscriptionId: subscription.id,
      stripeCustomerId: customer.id,
    });
    const periodEnd = subscription.items.data[0]!.current_period_end;

    // The writer's scheduled switch on a fixed term (decision 015): cancel_at cleared, the
    // schedule's last phase ends at the term end and cancels the subscription.
    await ctx.h.stripe.subscriptions.update(subscription.id, { cancel_at: "" }, key("clear-cancel-at"));
    const schedule = await ctx.h.stripe.subscriptionSchedules.create(
      { from_subscription: subscription.id },
      key("schedule"),
    );
    await ctx.h.stripe.subscriptionSchedules.update(
      schedule.id,
      {
        end_behavior: "cancel",
        phases: [
          {
            items: [{ price: monthly.id, quantity: 1 }],
            start_date: schedule.phases[0]!.start_date,
            end_date: periodEnd,
            proration_behavior: "none",
          },
          {
            items: [{ price: cheaper.id, quantity: 1 }],
            start_date: periodEnd,
            end_date: termEnd,
            billing_cycle_anchor: "phase_start",
            proration_behavior: "none",
            metadata: { ...metadata, [LIMIO_OFFER_ID]: to, ...offerTermMetadata(threeMonthsFixed) },
          },
        ],
      },
      key("schedule-phases"),
    );
    expect((await ctx.h.stripe.subscriptions.retrieve(subscription.id)).cancel_at).toBeNull();
    const requestId = await ctx.h.publishSyncRequest(subscriptionId);
    await until(() => ctx.h.inboxHas([requestId]), 30_000, "the sync after the switch");

    const limio = async () => {
      const sub = await findSubscriptionDetail(ctx.h.store.db, subscriptionId);
      return {
        status: sub?.status,
        offerId: sub?.offerId,
        termEnd: sub?.termEnd?.toISOString(),
        cancelAtTermEnd: sub?.cancelAtTermEnd,
        endedAt: sub?.endedAt?.toISOString() ?? null,
        scheduled: (sub?.paymentSchedules ?? [])
          .filter((p) => p.status === "scheduled")
          .map((p) => ({ date: p.dueDate?.toISOString(), amount: p.amount })),
      };
    };
    // The next payment is the new offer's, at the switch.
    expect(await limio()).toMatchObject({
      status: "active",
      termEnd: at(termEnd),
      cancelAtTermEnd: true,
      scheduled: [{ date: at(periodEnd), amount: 499 }],
    });

    // The switch took effect: the new offer, the same term end.
    await advanceClock(ctx.h.stripe, clock.id, periodEnd + 86_400);
    await ctx.receiver.settle();
    const lastPeriod = utc(2026, 5, 1);
    expect(await limio()).toMatchObject({
      status: "active",
      offerId: to,
      termEnd: at(termEnd),
      cancelAtTermEnd: true,
      scheduled: [{ date: at(lastPeriod), amount: 499 }],
    });

    // The term's last period: no payment predicted after the end the schedule cancels at.
    await advanceClock(ctx.h.stripe, clock.id, lastPeriod + 86_400);
    await ctx.receiver.settle();
    expect(await limio()).toMatchObject({ status: "active", termEnd: at(termEnd), scheduled: [] });

    // The schedule cancels the subscription at the term end.
    await advanceClock(ctx.h.stripe, clock.id, termEnd + 86_400);
    await ctx.receiver.settle();
    expect(await limio()).toMatchObject({
      status: "cancelled",
      termEnd: at(termEnd),
      endedAt: at(termEnd),
      scheduled: [],
    });
  });
});
