import type { StripeEventLike } from "@bridge/domain";
import type { MessageContext } from "@bridge/messaging";
import { deferredInbox, listEventsForSubscription } from "@bridge/store";
import { CONSUMER, createCoalescer, createSyncMetrics } from "@bridge/sync-core";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import {
  advanceClock,
  deliverStripeEvents,
  gatewayMessage,
  logger,
  seedLimioSubscription,
  stripeRequestsMadeDuring,
  stripeSubscription,
  syncedStripeSubscription,
  useHarness,
  utc,
} from "../test/harness.ts";
import { partitionKeyOf, type StripeEventOutcome, stripeEventHandler } from "./handlers/stripe-event.ts";

// Decision 027: the inbox rows of events whose only effect is the row (coalesced, loop, ignored)
// are written once per batch, just before the batch's offset is committed. Neither a row nor an
// effect may be lost or doubled by that, also when the batch is redelivered after a crash that
// came after its syncs committed and before its rows were written.

const ctx = useHarness({ coalesce: true, partitions: 1 });

/** The events of these customers not handed to the consumer yet, oldest first. */
const newEvents = (customerIds: Set<string>) =>
  ctx.h.newStripeEvents(({ customerId }) => customerId !== undefined && customerIds.has(customerId));

const deliver = (deliveries: StripeEventLike[]) => deliverStripeEvents(ctx.h, deliveries);

async function stripeReads(): Promise<number> {
  const metric = await ctx.h.registry.getSingleMetric("stripe_fetches_total")?.get();
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

const termChanges = async (subscriptionId: string) =>
  (await listEventsForSubscription(ctx.h.store.db, subscriptionId)).filter(
    (e) => e.type === "subscription.term_changed",
  ).length;

describe("the inbox written once per batch", () => {
  it("two renewals duplicated in one batch, then the batch redelivered without its deferred rows: every row once, every effect once", async () => {
    const subs = await Promise.all(
      [0, 1].map(async () => {
        const s = await stripeSubscription(ctx.h.stripe, {
          frozenTime: utc(2026, 1, 15),
          card: "pm_card_visa",
        });
        const { subscriptionId } = await seedLimioSubscription(ctx.h.store, {
          stripeSubscriptionId: s.subscription.id,
          stripeCustomerId: s.customer.id,
        });
        return { s, subscriptionId };
      }),
    );
    const customers = new Set(subs.map(({ s }) => s.customer.id));
    await deliver(await newEvents(customers)); // creation: synced once each
    for (const { s } of subs) await advanceClock(ctx.h.stripe, s.clock!.id, utc(2026, 2, 16));
    const renewals = await newEvents(customers);
    const termChangesBefore = await Promise.all(
      subs.map(({ subscriptionId }) => termChanges(subscriptionId)),
    );
    const ids = [...new Set(renewals.map((e) => e.id))];
    const batch = [...renewals, ...renewals.toReversed()];

    const first = await deliver(batch);
    // Every delivery is settled only after its row is written: the rows are there now.
    expect(await ctx.h.inboxHas(ids)).toBe(true);
    // One first-time outcome per message; the second copy of each is a duplicate.
    const firstTime = first.filter((o) => o.outcome !== "duplicate");
    expect(firstTime.map((o) => o.eventId).sort()).toEqual([...ids].sort());
    expect(first.filter((o) => o.outcome === "duplicate")).toHaveLength(ids.length);
    const renewed = await Promise.all(subs.map(({ subscriptionId }) => termChanges(subscriptionId)));
    expect(renewed).toEqual(termChangesBefore.map((n) => n + 1));

    // A crash after the batch's syncs committed, before its deferred rows and its offset: the
    // deferred rows are gone and the same messages come again (re-published here).
    const deferredIds = firstTime.filter((o) => o.outcome !== "synced").map((o) => o.eventId);
    expect(deferredIds.length).toBeGreaterThan(0);
    await ctx.h.store.db.inboxMessage.deleteMany({
      where: { consumer: CONSUMER, messageId: { in: deferredIds } },
    });
    const readsBefore = await stripeReads();
    const again = await deliver(batch);
    expect(await ctx.h.inboxHas(ids)).toBe(true);
    // The synced messages are duplicates; the deferred ones are decided again, each once.
    expect(
      again
        .filter((o) => o.outcome !== "duplicate")
        .map((o) => o.eventId)
        .sort(),
    ).toEqual([...deferredIds].sort());
    // Re-published, the copies sit above the refetch's watermark: they may refetch, never double an effect.
    expect(await stripeReads()).toBeLessThanOrEqual(readsBefore + 3 * subs.length);
    expect(await Promise.all(subs.map(({ subscriptionId }) => termChanges(subscriptionId)))).toEqual(renewed);
  });
});

describe("a second copy of an event in one batch, the first one's row still queued", () => {
  it("is a duplicate and refetches nothing, also above the coalescing watermark", async () => {
    const { s } = await syncedStripeSubscription(ctx.h, utc(2026, 1, 15));
    await advanceClock(ctx.h.stripe, s.clock!.id, utc(2026, 2, 16));
    const renewal = await newEvents(new Set([s.customer.id]));
    // Names no invoice: reflected by any refetch of the subscription below its watermark.
    const updated = renewal.find((e) => e.type === "customer.subscription.updated")!;
    const first = renewal.find((e) => e.type === "invoice.paid")!;

    // The handler as the consumer runs it, on a partition whose log ends at offset 10 whenever a
    // refetch reads it, so which copy sits below the watermark is the test's to decide.
    const topic = "direct-stripe-events";
    const watermark = 10n;
    const coalescer = createCoalescer({
      highWatermark: async () => watermark,
      highWatermarks: async () => new Map([[0, watermark]]),
      partitionSizes: async () => [],
      groupOffsets: async () => [],
      reachable: async () => true,
      close: async () => {},
    });
    const deferred = deferredInbox(ctx.h.store.db, CONSUMER);
    const outcomes: StripeEventOutcome[] = [];
    const handle = stripeEventHandler(
      {
        store: ctx.h.store,
        stripe: ctx.h.stripe,
        logger,
        metrics: createSyncMetrics(new Registry()),
        coalescer,
      },
      (_eventId, outcome) => outcomes.push(outcome),
      deferred,
    );
    const at = (offset: number): MessageContext => ({
      topic,
      partition: 0,
      offset: String(offset),
      appendedAt: Date.now(),
      key: null,
      headers: {},
      attempt: 1,
      retryRound: 0,
      signal: new AbortController().signal,
      logger,
    });

    await handle(gatewayMessage(first).envelope, at(1)); // refetches; remembered up to offset 10
    await handle(gatewayMessage(updated).envelope, at(2)); // below it: coalesced, its row queued
    const requests = await stripeRequestsMadeDuring(ctx.h, async () => {
      // The same event again (a webhook retry), appended after the refetch read the log end.
      await handle(gatewayMessage(updated).envelope, at(12));
      await deferred.flush(partitionKeyOf(topic, 0));
    });
    // Without the queued row counting as seen, the copy found no row and refetched (two reads).
    expect(requests).toEqual({});
    expect(outcomes).toEqual(["synced", "skipped_coalesced", "duplicate"]);
    expect(await ctx.h.inboxHas([first.id, updated.id])).toBe(true);
  });
});
