// Change events (docs/decisions/017) end to end on real Kafka, Postgres and the Stripe emulator: a
// subscription's whole life (new order, upgrade, Stripe-side renewal on a test clock, dunning
// cancellation) read back from limio.subscription-changes.v1 equals the store's audit trail.
import { randomUUID } from "node:crypto";
import {
  changeKindOfAuditType,
  type Envelope,
  type OrderOutcomeV1,
  type SubscriptionChangedV1,
  subscriptionChangedEnvelope,
} from "@bridge/domain";
import { uniqueName } from "@bridge/local-infra/testing";
import { type RunningConsumer, startConsumer } from "@bridge/messaging";
import {
  countUnpublishedChanges,
  findSubscriptionDetail,
  listEventsForSubscription,
  listSubscriptionChanges,
  recordOrder,
} from "@bridge/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  advanceClock,
  catalogOffer,
  declineRenewals,
  type Harness,
  logger,
  startHarness,
  startWebhookReceiver,
  stripeSubscription,
  until,
  utc,
} from "../test/harness.ts";

let h: Harness;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let follower: RunningConsumer;
/** Every change event read from the topic, in arrival order (duplicates kept). */
const received: Envelope<SubscriptionChangedV1>[] = [];

beforeAll(async () => {
  h = await startHarness({
    emulator: { dunning: { retries: 3, intervalSeconds: 3 * 86400, finalStatus: "canceled" } },
  });
  receiver = await startWebhookReceiver(h);
  // A follower of Limio subscriptions, as a CRM would run one: its own group, from the beginning.
  follower = await startConsumer(h.kafka, {
    groupId: uniqueName("change-follower"),
    topics: [h.topics.subscriptionChanges],
    logger,
    handler: async (envelope) => {
      received.push(subscriptionChangedEnvelope.parse(envelope));
    },
  });
});
afterAll(async () => {
  await follower?.stop();
  await receiver?.close();
  await h?.stop();
});

const hex = () => randomUUID().replaceAll("-", "");

/** An order as the gateway records it, then its outcome as the writer publishes it, handled. */
async function applyOrder(
  order: { orderType: "new" | "change_offer"; payload: Record<string, unknown> },
  outcome: Omit<OrderOutcomeV1, "completedAt" | "orderType" | "status">,
) {
  await recordOrder(h.store.db, {
    id: outcome.orderId,
    reference: hex().slice(0, 12).toUpperCase(),
    type: order.orderType,
    source: "shop",
    subscriptionId: outcome.subscriptionId,
    status: "applied",
    payload: order.payload,
  });
  const id = await h.publishOrderOutcome({ ...outcome, orderType: order.orderType, status: "applied" });
  await until(() => h.inboxHas([id]), 30_000, `outcome of ${outcome.orderId} handled`);
}

/** The subscription's change-kind audit Events, in the order of their outbox sequence numbers. */
async function storeChanges(subscriptionId: string) {
  const audit = await listEventsForSubscription(h.store.db, subscriptionId, 1_000);
  const changes = audit.filter((e) => changeKindOfAuditType(e.type) !== undefined);
  const outbox = await listSubscriptionChanges(h.store.db, subscriptionId);
  const byId = new Map(changes.map((e) => [e.id, e]));
  return { changes, ordered: outbox.map((row) => byId.get(row.eventId)) };
}

/** Wait until the topic carries every change of the store, then check it is exactly them. */
async function expectTopicEqualsStore(subscriptionId: string) {
  await until(
    async () => {
      const { changes } = await storeChanges(subscriptionId);
      const ids = new Set(received.filter((e) => e.data.subscriptionId === subscriptionId).map((e) => e.id));
      return ids.size === changes.length && (await countUnpublishedChanges(h.store.db)) === 0;
    },
    30_000,
    "every change event on the topic",
  );
  const { changes, ordered } = await storeChanges(subscriptionId);
  const mine = received.filter((e) => e.data.subscriptionId === subscriptionId);
  // Once each (no relay crash here, so not even a duplicate), in sequence order 1, 2, 3…
  expect(new Set(mine.map((e) => e.id)).size).toBe(mine.length);
  expect(mine.map((e) => e.data.sequence)).toEqual(changes.map((_, i) => i + 1));
  // Exactly the store's changes: the same audit Events, kinds and before/after values.
  expect(ordered.every((e) => e !== undefined)).toBe(true);
  expect(mine.map((e) => e.data.auditEventId)).toEqual(ordered.map((e) => e?.id));
  for (const [i, envelope] of mine.entries()) {
    const audit = ordered[i]!;
    expect(changeKindOfAuditType(audit.type)).toBe(envelope.data.kind);
    expect(envelope.data.cause.source).toBe(audit.source);
    for (const [field, change] of Object.entries(audit.changes as Record<string, unknown>)) {
      if (change && typeof change === "object" && "from" in change && "to" in change) {
        expect(envelope.data.before[field]).toEqual(change.from ?? null);
        expect(envelope.data.after[field]).toEqual(change.to ?? null);
      }
    }
  }
  // The store's order: a later sequence number never records an earlier change.
  const times = ordered.map((e) => e!.createdAt.getTime());
  expect([...times].sort((a, b) => a - b)).toEqual(times);
  return mine;
}

describe("limio.subscription-changes.v1", () => {
  it("carries every change of a subscription's life, in order, once each: order, upgrade, renewal, dunning cancellation", async () => {
    await h.store.db.offer.createMany({
      data: [catalogOffer("offer-digital"), catalogOffer("offer-premium")],
    });
    const orderId = `order-${hex()}`;
    const subscriptionId = `sub-${hex()}`;
    const start = utc(2026, 1, 15);
    // The new order as the writer applies it: Limio metadata, `limio:` keys (webhooks are loops).
    const s = await stripeSubscription(h.stripe, {
      frozenTime: start,
      metadata: { limio_order_id: orderId, limio_subscription_id: subscriptionId, limio_source: "shop" },
      idempotencyPrefix: `limio:${orderId}`,
    });
    const email = s.customer.email ?? "jenny@example.com";
    await applyOrder(
      {
        orderType: "new",
        payload: { order_type: "new", email, orderItems: [{ offer: { id: "offer-digital" } }] },
      },
      {
        orderId,
        subscriptionId,
        action: "subscription_created",
        stripe: { customerId: s.customer.id, subscriptionId: s.subscription.id },
      },
    );
    let events = await expectTopicEqualsStore(subscriptionId);
    expect(events[0]?.data).toMatchObject({
      sequence: 1,
      kind: "created",
      cause: { source: "shop", orderId },
      after: { offerId: "offer-digital", stripeSubscriptionId: s.subscription.id },
    });
    expect(events.map((e) => e.data.kind)).toEqual(expect.arrayContaining(["status", "payment_method"]));

    // Upgrade (the writer's swap: new price now, always invoiced), then its outcome.
    const upgradeId = `order-${hex()}`;
    const item = s.subscription.items.data[0]!;
    const premium = await h.stripe.prices.create(
      {
        currency: "gbp",
        unit_amount: 2500,
        recurring: { interval: "month" },
        product: s.product.id,
        metadata: { limio_offer_id: "offer-premium" },
      },
      { idempotencyKey: `limio:${upgradeId}:price` },
    );
    await h.stripe.subscriptions.update(
      s.subscription.id,
      {
        items: [{ id: item.id, price: premium.id }],
        proration_behavior: "always_invoice",
        metadata: { limio_order_id: upgradeId, limio_offer_id: "offer-premium" },
      },
      { idempotencyKey: `limio:${upgradeId}:swap` },
    );
    await applyOrder(
      {
        orderType: "change_offer",
        payload: { order_type: "change_offer", orderItems: [{ offer: { id: "offer-premium" } }] },
      },
      {
        orderId: upgradeId,
        subscriptionId,
        action: "upgraded",
        stripe: { customerId: s.customer.id, subscriptionId: s.subscription.id },
      },
    );
    const beforeUpgrade = events.length;
    events = await expectTopicEqualsStore(subscriptionId);
    const upgrade = events.slice(beforeUpgrade);
    expect(upgrade.find((e) => e.data.kind === "offer")?.data).toMatchObject({
      before: { offerId: "offer-digital" },
      after: { offerId: "offer-premium" },
      cause: { orderId: upgradeId },
    });

    // Renewal in Stripe (Feb 15 on the test clock): webhooks only, nobody calls an API.
    await receiver.settle();
    const beforeRenewal = events.length;
    await advanceClock(h.stripe, s.clock!.id, utc(2026, 2, 16));
    await receiver.settle();
    events = await expectTopicEqualsStore(subscriptionId);
    const renewal = events.slice(beforeRenewal);
    expect(renewal.map((e) => e.data.kind)).toEqual(expect.arrayContaining(["term", "payment_schedules"]));
    for (const e of renewal) {
      expect(e.data.cause).toMatchObject({ source: "stripe", stripeEventId: expect.stringMatching(/^evt_/) });
    }

    // Dunning: a declining card, failed renewal, Smart Retries, Stripe cancels.
    await declineRenewals(h.stripe, s.customer.id);
    await advanceClock(h.stripe, s.clock!.id, utc(2026, 3, 16));
    await receiver.settle();
    await advanceClock(h.stripe, s.clock!.id, utc(2026, 4, 15));
    await receiver.settle();
    expect(await findSubscriptionDetail(h.store.db, subscriptionId)).toMatchObject({ status: "cancelled" });
    events = await expectTopicEqualsStore(subscriptionId);
    const cancelled = events.filter((e) => e.data.kind === "status" && e.data.after.status === "cancelled");
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]?.data.before.status).toBe("active");
    console.info(
      `[change-events] ${events.length} change events for one subscription: ${events.map((e) => e.data.kind).join(", ")}`,
    );
  });
});
