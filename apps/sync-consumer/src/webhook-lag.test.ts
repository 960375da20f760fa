import type { StripeEventLike } from "@bridge/domain";
import { findSubscriptionDetail } from "@bridge/store";
import type { Histogram } from "prom-client";
import { describe, expect, it } from "vitest";
import { seedLimioSubscription, stripeSubscription, until, useHarness } from "../test/harness.ts";

// sync_webhook_to_store_seconds: the dashboard's webhook-to-store lag. One observation per Stripe
// event once its handling is committed, timed from the event's `created`.

const ctx = useHarness();

/** The histogram's count, sum and cumulative buckets for one outcome. */
async function lagOf(outcome: string) {
  const metric = ctx.h.registry.getSingleMetric("sync_webhook_to_store_seconds") as Histogram | undefined;
  const values = (await metric?.get())?.values.filter((v) => v.labels.outcome === outcome) ?? [];
  const named = (suffix: string) =>
    values.filter((v) => v.metricName === `sync_webhook_to_store_seconds${suffix}`);
  return {
    count: named("_count")[0]?.value ?? 0,
    sum: named("_sum")[0]?.value ?? 0,
    bucket: (le: number) => named("_bucket").find((v) => v.labels.le === le)?.value ?? 0,
  };
}

describe("webhook-to-store lag", () => {
  it("is observed once when a Stripe event's sync is committed, from the event's creation, and not again for a redelivery", async () => {
    const s = await stripeSubscription(ctx.h.stripe);
    const { subscriptionId } = await seedLimioSubscription(ctx.h.store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    // A Stripe-initiated change (no Limio metadata or idempotency key): synced, not loop-skipped.
    await ctx.h.stripe.subscriptions.update(s.subscription.id, { cancel_at_period_end: true });
    const updated = (
      await ctx.h.stripe.events.list({ type: "customer.subscription.updated", limit: 100 })
    ).data.find((e) => (e.data.object as { id?: string }).id === s.subscription.id);
    expect(updated).toBeDefined();
    // Delivered 90 s after Stripe created it (a retried webhook): the lag counts from `created`.
    const event = { ...(updated as unknown as StripeEventLike), created: Math.floor(Date.now() / 1000) - 90 };
    const before = await lagOf("synced");

    await ctx.h.publishStripeEvent(event);
    await until(() => ctx.h.outcomes.some((o) => o.eventId === event.id), 30_000, "the event handled");
    expect(ctx.h.outcomes.filter((o) => o.eventId === event.id).map((o) => o.outcome)).toEqual(["synced"]);
    expect(await findSubscriptionDetail(ctx.h.store.db, subscriptionId)).toMatchObject({
      cancelAtTermEnd: true,
    });

    const after = await lagOf("synced");
    expect(after.count - before.count).toBe(1);
    const seconds = after.sum - before.sum;
    expect(seconds).toBeGreaterThanOrEqual(90);
    expect(seconds).toBeLessThan(120);
    expect(after.bucket(60) - before.bucket(60)).toBe(0);
    expect(after.bucket(120) - before.bucket(120)).toBe(1);

    // A redelivery is recorded as a duplicate and measured no second time.
    await ctx.h.publishStripeEvent(event);
    await until(
      () => ctx.h.outcomes.filter((o) => o.eventId === event.id).length === 2,
      30_000,
      "the redelivery handled",
    );
    expect(ctx.h.outcomes.filter((o) => o.eventId === event.id).at(-1)?.outcome).toBe("duplicate");
    expect((await lagOf("synced")).count).toBe(after.count);
  });
});
