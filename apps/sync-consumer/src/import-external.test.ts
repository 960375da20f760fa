import { type StripeEventLike, stripeEventReceivedData } from "@bridge/domain";
import {
  findSubscriptionByStripeId,
  findSubscriptionDetail,
  listEventsForSubscription,
  listUnmatched,
} from "@bridge/store";
import { importExternalSubscription } from "@bridge/sync-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { directDeps, type Harness, startHarness, stripeSubscription, until } from "../test/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ kafkaGauges: true });
});
afterAll(async () => {
  await h?.stop();
});

async function eventsOf(stripeSubscriptionId: string, type: string) {
  const out: StripeEventLike[] = [];
  for await (const e of h.stripe.events.list({ limit: 100, type })) {
    const ev = e as unknown as StripeEventLike;
    if (stripeEventReceivedData(ev).related.subscriptionId === stripeSubscriptionId) out.push(ev);
  }
  return out;
}

const metric = async (name: string) => {
  const m = await h.registry.getSingleMetric(name)?.get();
  return m?.values ?? [];
};

describe("subscriptions created directly in Stripe", () => {
  it("are recorded as unmatched (never invented), then imported by an operator as external and synced", async () => {
    const s = await stripeSubscription(h.stripe, { email: "External.Buyer@example.com" });
    const [created] = await eventsOf(s.subscription.id, "customer.subscription.created");
    await h.publishStripeEvent(created!);
    await until(() => h.inboxHas([created!.id]), 30_000, "unmatched event handled");

    expect(await findSubscriptionByStripeId(h.store.db, s.subscription.id)).toBeNull();
    const unmatched = await listUnmatched(h.store.db);
    expect(unmatched.find((u) => u.stripeSubscriptionId === s.subscription.id)).toMatchObject({
      stripeCustomerId: s.customer.id,
      lastEventId: created!.id,
      seenCount: 1,
      importedAs: null,
    });
    expect((await metric("sync_unmatched_total"))[0]?.value).toBe(1);

    // What the `bridge` CLI passes: store, Stripe client, logger.
    const deps = { store: h.store, stripe: h.stripe, logger: directDeps(h.store, h.stripe).logger };
    const first = await importExternalSubscription(deps, s.subscription.id, { operator: "ops@example.com" });
    expect(first.created).toBe(true);
    const sub = await findSubscriptionDetail(h.store.db, first.subscriptionId);
    expect(sub).toMatchObject({
      origin: "external",
      source: "stripe",
      offerId: null,
      status: "active",
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    expect(sub?.customer).toMatchObject({
      email: "external.buyer@example.com",
      stripeCustomerId: s.customer.id,
    });
    expect(sub?.paymentSchedules.length).toBeGreaterThan(0);
    expect((await listUnmatched(h.store.db)).map((u) => u.stripeSubscriptionId)).not.toContain(
      s.subscription.id,
    );
    const audit = await listEventsForSubscription(h.store.db, first.subscriptionId);
    expect(audit[0]).toMatchObject({ type: "subscription.imported", source: "operator" });

    // Idempotent: importing again finds the same subscription.
    expect(await importExternalSubscription(deps, s.subscription.id)).toEqual({
      subscriptionId: first.subscriptionId,
      created: false,
    });

    // From now on its Stripe events sync like any other.
    await h.stripe.subscriptions.update(s.subscription.id, { cancel_at_period_end: true });
    const [updated] = await eventsOf(s.subscription.id, "customer.subscription.updated");
    await h.publishStripeEvent(updated!);
    await until(() => h.inboxHas([updated!.id]), 30_000, "event handled");
    expect(h.outcomes.find((o) => o.eventId === updated!.id)?.outcome).toBe("synced");
    expect(await findSubscriptionDetail(h.store.db, first.subscriptionId)).toMatchObject({
      cancelAtTermEnd: true,
    });
  });

  it("exposes consumer lag and DLQ size from the broker", async () => {
    await until(
      async () => (await metric("sync_consumer_lag")).some((v) => v.labels.topic === h.topics.stripeEvents),
      20_000,
      "lag gauge",
    );
    const lag = await metric("sync_consumer_lag");
    expect(lag.filter((v) => v.labels.topic === h.topics.stripeEvents).every((v) => v.value === 0)).toBe(
      true,
    );
    const dlq = await metric("sync_dlq_messages");
    expect(dlq.map((v) => v.labels.topic).sort()).toEqual(
      [h.topics.orderOutcomes, h.topics.stripeEvents, h.topics.sync].map((t) => `${t}.dlq`).sort(),
    );
    expect(dlq.every((v) => v.value === 0)).toBe(true);
  });
});
