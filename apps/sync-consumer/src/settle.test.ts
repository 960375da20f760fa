import { setTimeout as delay } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import {
  advanceClock,
  eventsAbout,
  gatewayMessage,
  stripeRequestsMadeDuring,
  syncedStripeSubscription,
  until,
  useHarness,
  utc,
} from "../test/harness.ts";

// Decision 023 §4, 027: one renewal's events reach Kafka close together but not at once (Stripe
// delivers them concurrently, and other events come between them). A sync waits until its
// message is the settle time old, so the rest of the burst is in Kafka before the watermarks are
// read, whatever else is behind that message in its partition.

const SETTLE_MS = 3_000;
const ctx = useHarness({ coalesce: true, partitions: 1, settleMs: SETTLE_MS });

describe("the settle wait", () => {
  it("a renewal's first event followed by another subscription's, its other events a second later: one refetch covers them", async () => {
    // One after the other: a delivery counts every outcome handled meanwhile.
    const renewing = await syncedStripeSubscription(ctx.h, utc(2026, 1, 15));
    const other = await syncedStripeSubscription(ctx.h, utc(2026, 1, 15));
    await advanceClock(ctx.h.stripe, renewing.s.clock!.id, utc(2026, 2, 16));
    await advanceClock(ctx.h.stripe, other.s.clock!.id, utc(2026, 2, 16));
    const [first, ...rest] = await eventsAbout(ctx.h, renewing.s);
    const otherFirst = (await eventsAbout(ctx.h, other.s))[0]!;
    expect(rest.length).toBeGreaterThanOrEqual(3);

    const requests = await stripeRequestsMadeDuring(ctx.h, async () => {
      const before = ctx.h.outcomes.length;
      // The renewal's first event is not its partition's newest: another subscription's follows.
      await ctx.h.producer.publishBatch(ctx.h.topics.stripeEvents, [first!, otherFirst].map(gatewayMessage));
      // The gap between two deliveries of one burst is the scenario here, not a wait for a result.
      await delay(1_000);
      await ctx.h.producer.publishBatch(ctx.h.topics.stripeEvents, rest.map(gatewayMessage));
      await until(() => ctx.h.outcomes.length - before === 2 + rest.length, 60_000, "every event handled");
    });
    // One refetch of two reads per subscription. Without the wait (the newest-message rule), the
    // renewal synced at once, before its other events were in Kafka, and again for them.
    expect(requests).toEqual({ "GET /v1/subscriptions/:id": 2, "POST /v1/invoices/create_preview": 2 });
  });
});
