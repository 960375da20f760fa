import { findSubscriptionDetail, listEventsForSubscription } from "@bridge/store";
import { CONSUMER } from "@bridge/sync-core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  advanceClock,
  gatewayMessage,
  seedLimioSubscription,
  stripeSubscription,
  until,
  useHarness,
  utc,
} from "../test/harness.ts";

// Delivery is at-least-once and unordered: a real Stripe event sequence (renewal, failing card,
// dunning, cancellation), every event delivered twice, in any order, must leave the Limio
// subscription in Stripe's state with one audit event per real change. Coalescing is off so every
// delivery goes through the refetch path (the production default only makes it cheaper).

const ctx = useHarness({ coalesce: false, partitions: 3 });

const at = (seconds: number) => new Date(seconds * 1000).toISOString();

describe("convergence", () => {
  it("duplicated and shuffled deliveries of a real event sequence converge to Stripe's state", async () => {
    const s = await stripeSubscription(ctx.h.stripe, { frozenTime: utc(2026, 1, 15), card: "pm_card_visa" });
    await advanceClock(ctx.h.stripe, s.clock!.id, utc(2026, 2, 16));
    const failing = await ctx.h.stripe.paymentMethods.attach("pm_card_chargeCustomerFail", {
      customer: s.customer.id,
    });
    await ctx.h.stripe.customers.update(s.customer.id, {
      invoice_settings: { default_payment_method: failing.id },
    });
    await advanceClock(ctx.h.stripe, s.clock!.id, utc(2026, 4, 15));

    const events = await ctx.h.newStripeEvents(
      (r) => r.customerId === s.customer.id || r.subscriptionId === s.subscription.id,
    );
    expect(events.length).toBeGreaterThan(15);
    expect(events.some((e) => e.type === "customer.subscription.deleted")).toBe(true);
    const ids = events.map((e) => e.id);
    // Shuffle positions (not the events themselves) so a counterexample prints as a short list.
    const doubled = [...events.keys(), ...events.keys()];

    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray(doubled, { minLength: doubled.length, maxLength: doubled.length }),
        async (order) => {
          const deliveries = order.map((i) => events[i]!);
          run++;
          // A fresh Limio subscription linked to the same Stripe subscription, inbox cleared.
          await ctx.h.store.db.inboxMessage.deleteMany({
            where: { consumer: CONSUMER, messageId: { in: ids } },
          });
          const old = await ctx.h.store.db.subscription.findMany({
            where: { stripeCustomerId: s.customer.id },
          });
          await ctx.h.store.db.event.deleteMany({ where: { subscriptionId: { in: old.map((o) => o.id) } } });
          await ctx.h.store.db.subscription.deleteMany({ where: { id: { in: old.map((o) => o.id) } } });
          await ctx.h.store.db.customer.deleteMany({ where: { stripeCustomerId: s.customer.id } });
          const { subscriptionId } = await seedLimioSubscription(ctx.h.store, {
            stripeSubscriptionId: s.subscription.id,
            stripeCustomerId: s.customer.id,
          });
          const handledBefore = ctx.h.outcomes.length;

          await ctx.h.producer.publishBatch(ctx.h.topics.stripeEvents, deliveries.map(gatewayMessage));
          await until(
            () => ctx.h.outcomes.length - handledBefore === deliveries.length,
            60_000,
            `run ${run}: all ${deliveries.length} deliveries handled`,
          );
          const outcomes = ctx.h.outcomes.slice(handledBefore);
          expect(outcomes.filter((o) => o.outcome === "duplicate")).toHaveLength(events.length);

          const sub = await findSubscriptionDetail(ctx.h.store.db, subscriptionId);
          expect(sub).toMatchObject({
            status: "cancelled",
            stripeStatus: "canceled",
            termStart: new Date(at(utc(2026, 3, 15))),
            termEnd: new Date(at(utc(2026, 4, 15))),
            endedAt: new Date(at(utc(2026, 3, 24))),
          });
          expect(sub?.paymentMethod).toMatchObject({ stripePaymentMethodId: failing.id });
          expect(sub?.paymentSchedules.map((p) => p.status).sort()).toEqual(["failed", "paid", "paid"]);

          const audit = await listEventsForSubscription(ctx.h.store.db, subscriptionId);
          const perType = new Map<string, number>();
          for (const e of audit) perType.set(e.type, (perType.get(e.type) ?? 0) + 1);
          // Stripe was already in its final state: the first delivery applies everything, once.
          expect(Object.fromEntries(perType)).toEqual({
            "subscription.status_changed": 1,
            "subscription.term_changed": 1,
            "subscription.payment_schedules_changed": 1,
            "subscription.payment_method_changed": 1,
          });
        },
      ),
      { numRuns: 4, endOnFailure: true },
    );
    expect(run).toBe(4);
  }, 60_000); // four runs of ~80 deliveries each: ~20 s alone, more on a loaded machine
});
