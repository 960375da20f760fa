import type { StripeEventLike } from "@bridge/domain";
import { findSubscriptionDetail } from "@bridge/store";
import { describe, expect, it } from "vitest";
import {
  advanceClock,
  deliverStripeEvents,
  eventsAbout,
  stripeRequestsMadeDuring,
  syncedStripeSubscription,
  useHarness,
  utc,
} from "../test/harness.ts";

// Decision 023: with coalescing on, the events of one renewal cost one refetch of two reads (the
// subscription with its latest invoice, and the preview), and deliveries duplicated and shuffled
// still converge, also when an event names an invoice that is no longer the latest.

// One partition: the test decides the order the consumer reads the deliveries in.
const ctx = useHarness({ coalesce: true, partitions: 1 });
/** The instant a test-clock time (Unix seconds) stands for, as the store keeps it. */
const instant = (seconds: number) => new Date(seconds * 1000);

/** Stripe's events about this customer or subscription not handed to the consumer yet, oldest first. */
const newEvents = (customerId: string, subscriptionId: string) =>
  eventsAbout(ctx.h, { customer: { id: customerId }, subscription: { id: subscriptionId } });

const deliver = async (deliveries: StripeEventLike[]) =>
  (await deliverStripeEvents(ctx.h, deliveries)).map((o) => o.outcome);

const syncedSubscription = (frozenTime: number) => syncedStripeSubscription(ctx.h, frozenTime);
const stripeRequestsDuring = (work: () => Promise<unknown>) => stripeRequestsMadeDuring(ctx.h, work);

/** Every position twice, shuffled: at-least-once and unordered. */
function duplicatedAndShuffled<T>(items: T[]): T[] {
  const doubled = [...items, ...items];
  for (let i = doubled.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [doubled[i], doubled[j]] = [doubled[j]!, doubled[i]!];
  }
  return doubled;
}

/** One refetch by default: the subscription with its latest invoice, and the preview. */
const TWO_READS = { "GET /v1/subscriptions/:id": 1, "POST /v1/invoices/create_preview": 1 };

describe("coalescing the events of a renewal", () => {
  it("one renewal's events, in one batch, duplicated and shuffled: one refetch of two reads, and the new term and schedules", async () => {
    const { s, subscriptionId } = await syncedSubscription(utc(2026, 1, 15));
    await advanceClock(ctx.h.stripe, s.clock!.id, utc(2026, 2, 16));
    const renewal = await newEvents(s.customer.id, s.subscription.id);
    expect(renewal.filter((e) => e.type.startsWith("invoice.")).length).toBeGreaterThanOrEqual(3);

    let outcomes: string[] = [];
    const requests = await stripeRequestsDuring(async () => {
      outcomes = await deliver(duplicatedAndShuffled(renewal));
    });
    // Without coalescing every delivery refetches (three reads each); without reading the latest
    // invoice in place of the list, the one refetch costs three.
    expect(requests).toEqual(TWO_READS);
    expect(outcomes.filter((o) => o === "synced")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "duplicate")).toHaveLength(renewal.length);

    const sub = await findSubscriptionDetail(ctx.h.store.db, subscriptionId);
    expect(sub?.termStart).toEqual(instant(utc(2026, 2, 15)));
    expect(sub?.termEnd).toEqual(instant(utc(2026, 3, 15)));
    const byStatus = (status: string) => sub!.paymentSchedules.filter((p) => p.status === status);
    expect(byStatus("paid")).toHaveLength(2);
    expect(byStatus("scheduled").map((p) => p.stripeKey)).toEqual([
      `upcoming:${s.subscription.id}:${utc(2026, 3, 15)}`,
    ]);
  });

  it("two renewals delivered together, shuffled: an event about the older invoice makes the sync list, none is missed", async () => {
    const { s, subscriptionId } = await syncedSubscription(utc(2026, 1, 15));
    await advanceClock(ctx.h.stripe, s.clock!.id, utc(2026, 2, 16));
    await advanceClock(ctx.h.stripe, s.clock!.id, utc(2026, 3, 16));
    const events = await newEvents(s.customer.id, s.subscription.id);
    const invoices = new Set(
      events.filter((e) => e.type.startsWith("invoice.")).map((e) => e.data.object.id),
    );
    expect(invoices.size).toBe(2);
    const newest = events.findLast((e) => e.type.startsWith("invoice."))!;

    for (let run = 0; run < 3; run++) {
      await ctx.h.store.db.paymentSchedule.deleteMany({
        where: { subscriptionId, stripeInvoiceId: { in: [...invoices] as string[] } },
      });
      // Redelivered: the inbox would drop them as duplicates; each run is a fresh delivery.
      await ctx.h.store.db.inboxMessage.deleteMany({ where: { messageId: { in: events.map((e) => e.id) } } });
      // The first delivery is about the newest invoice: its refetch reads only that one, so the
      // older invoice's events must not count as reflected by it.
      await deliver([newest, ...duplicatedAndShuffled(events)]);
      const sub = await findSubscriptionDetail(ctx.h.store.db, subscriptionId);
      expect(sub?.termStart).toEqual(instant(utc(2026, 3, 15)));
      const paid = sub!.paymentSchedules.filter((p) => p.status === "paid").map((p) => p.stripeInvoiceId);
      for (const id of invoices) expect(paid).toContain(id);
      expect(paid).toHaveLength(3);
    }
  });

  it("renewals on a test clock ahead of this machine's clock, each delivered duplicated and shuffled: two requests per renewal, every paid invoice kept", async () => {
    // Stripe's dates here are after this machine's `now`. A paid invoice the latest-invoice read
    // did not include was taken for a future one Stripe no longer has, and cancelled (decision 023).
    const year = new Date().getUTCFullYear() + 2;
    const { s, subscriptionId } = await syncedSubscription(utc(year, 1, 15));
    for (let renewals = 1; renewals <= 3; renewals++) {
      await advanceClock(ctx.h.stripe, s.clock!.id, utc(year, 1 + renewals, 16));
      const renewal = await newEvents(s.customer.id, s.subscription.id);
      const requests = await stripeRequestsDuring(() => deliver(duplicatedAndShuffled(renewal)));
      expect(requests).toEqual(TWO_READS);

      const sub = await findSubscriptionDetail(ctx.h.store.db, subscriptionId);
      expect(sub?.termStart).toEqual(instant(utc(year, 1 + renewals, 15)));
      const paid = sub!.paymentSchedules.filter((p) => p.status === "paid");
      expect(paid.map((p) => p.dueDate?.toISOString()).sort()).toEqual(
        Array.from({ length: renewals + 1 }, (_, i) => instant(utc(year, 1 + i, 15)).toISOString()),
      );
    }
  });
});
