import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { messageTypes } from "@bridge/domain";
import {
  findSubscriptionDetail,
  listEventsForSubscription,
  loadCatalog,
  recordOrder,
  wasHandled,
} from "@bridge/store";
import { CONSUMER } from "@bridge/sync-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  seedLimioSubscription,
  startHarness,
  stripeSubscription,
  until,
} from "../../test/harness.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const hex = () => randomUUID().replaceAll("-", "");

/** The sync request the writer publishes after each order. */
async function publishOrderSync(subscriptionId: string, orderId: string) {
  const id = randomUUID();
  await h.producer.publish(h.topics.sync, {
    key: subscriptionId,
    envelope: {
      id,
      type: messageTypes.syncRequested,
      version: 1,
      occurredAt: new Date().toISOString(),
      source: "stripe-writer",
      correlationId: randomUUID(),
      data: { subscriptionId, reason: "order", requestId: id, orderId },
    },
  });
  return id;
}

/** A `new` order applied in Stripe, as the writer leaves it: its row, then its outcome, handled. */
async function applyNewOrder(options: { email: string; source: string; payload: Record<string, unknown> }) {
  const orderId = `order-${hex()}`;
  const subscriptionId = `sub-${hex()}`;
  const s = await stripeSubscription(h.stripe, { email: options.email });
  await recordOrder(h.store.db, {
    id: orderId,
    reference: hex().slice(0, 12).toUpperCase(),
    type: "new",
    source: options.source,
    subscriptionId,
    status: "applied",
    payload: { order_type: "new", ...options.payload },
  });
  const id = await h.publishOrderOutcome({
    orderId,
    subscriptionId,
    orderType: "new",
    status: "applied",
    action: "subscription_created",
    stripe: { customerId: s.customer.id, subscriptionId: s.subscription.id },
  });
  await until(() => h.inboxHas([id]), 30_000, "outcome handled");
  return subscriptionId;
}

describe("sync request round trip through Kafka", () => {
  it("a limio.sync.requested envelope is applied and its inbox row written in the same transaction", async () => {
    const s = await stripeSubscription(h.stripe);
    const { subscriptionId } = await seedLimioSubscription(h.store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    const messageId = await h.publishSyncRequest(subscriptionId, "api");
    await until(() => wasHandled(h.store.db, CONSUMER, messageId), 30_000, "the sync request's inbox row");
    // The inbox row exists only once the sync is in the store (what the gateway's Sync API waits for).
    const sub = await findSubscriptionDetail(h.store.db, subscriptionId);
    expect(sub).toMatchObject({ status: "active", stripeStatus: "active" });
    expect(sub?.paymentMethod).toMatchObject({ brand: "visa", last4: "4242" });
    expect(sub?.paymentSchedules.length).toBe(2);
    const events = await listEventsForSubscription(h.store.db, subscriptionId);
    expect(events.find((e) => e.type === "subscription.status_changed")).toMatchObject({
      source: "api",
      causeId: messageId,
    });
  });
});

describe("order outcomes", () => {
  it("a new order creates the Limio customer and subscription, links Stripe and syncs; change_address updates the customer", async () => {
    const orderId = `order-${hex()}`;
    const subscriptionId = `sub-${hex()}`;
    const email = `Shop.Buyer+${hex().slice(0, 6)}@Example.com`;
    const s = await stripeSubscription(h.stripe, {
      email,
      metadata: { limio_order_id: orderId, limio_subscription_id: subscriptionId, limio_source: "shop" },
      idempotencyPrefix: `limio:${orderId}`,
    });
    const payload = {
      order_type: "new",
      source: "shop",
      orderItems: [{ offer: { id: "offer-not-in-catalog" }, quantity: 1 }],
      billingDetails: {
        firstName: "Shop",
        lastName: "Buyer",
        email,
        address1: "1 High St",
        city: "Leeds",
        country: "GB",
      },
      deliveryDetails: {
        firstName: "Shop",
        lastName: "Buyer",
        address1: "2 Low St",
        city: "York",
        country: "GB",
      },
      customerDetails: { firstName: "Shop", lastName: "Buyer", email },
      payment: {},
      checkoutId: "basket-1",
      country: "GB",
      email,
      stripePayment: {},
    };
    await recordOrder(h.store.db, {
      id: orderId,
      reference: hex().slice(0, 12).toUpperCase(),
      type: "new",
      source: "shop",
      subscriptionId,
      status: "applied",
      payload,
    });

    const outcome = {
      orderId,
      subscriptionId,
      orderType: "new" as const,
      status: "applied" as const,
      action: "subscription_created",
      stripe: { customerId: s.customer.id, subscriptionId: s.subscription.id },
    };
    await h.store.db.order.update({ where: { id: orderId }, data: { outcome } });
    // The writer's sync request overtakes its outcome (another topic): retried until the subscription exists.
    const syncId = await publishOrderSync(subscriptionId, orderId);
    await until(
      async () =>
        (await h.registry.getSingleMetric("messaging_messages_failed_total")?.get())?.values.length !== 0,
      20_000,
      "the early sync request to fail once",
    );
    const outcomeId = await h.publishOrderOutcome(outcome);
    await until(() => h.inboxHas([outcomeId, syncId]), 45_000, "outcome and sync request handled");

    const sub = await findSubscriptionDetail(h.store.db, subscriptionId);
    expect(sub).toMatchObject({
      origin: "limio",
      source: "shop",
      offerId: null,
      status: "active",
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    expect(sub?.reference).toMatch(/^[A-Z0-9]{12}$/);
    expect(sub?.customer).toMatchObject({
      email: email.toLowerCase(),
      firstName: "Shop",
      lastName: "Buyer",
      stripeCustomerId: s.customer.id,
    });
    expect(sub?.customer.id).toMatch(/^cus-[0-9a-f]{32}$/);
    expect(sub?.customer.addresses.map((a) => [a.type, a.line1]).sort()).toEqual([
      ["billing", "1 High St"],
      ["delivery", "2 Low St"],
    ]);
    const types = (await listEventsForSubscription(h.store.db, subscriptionId)).map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(["subscription.created", "order.applied", "subscription.status_changed"]),
    );

    // change_address (Limio's own order): the customer's delivery address, name and phone change.
    const changeId = `order-${hex()}`;
    await recordOrder(h.store.db, {
      id: changeId,
      reference: hex().slice(0, 12).toUpperCase(),
      type: "change_address",
      source: "shop",
      subscriptionId,
      status: "applied",
      payload: {
        order_type: "change_address",
        type: "delivery",
        subscriptionId,
        address: {
          firstName: "Shopper",
          lastName: "Moved",
          phone: "+44 1",
          address1: "3 New St",
          city: "Hull",
          country: "GB",
        },
      },
    });
    const changeOutcome = await h.publishOrderOutcome({
      orderId: changeId,
      subscriptionId,
      orderType: "change_address",
      status: "applied",
      action: "address_updated",
      stripe: { customerId: s.customer.id },
    });
    await until(() => h.inboxHas([changeOutcome]), 30_000, "change_address outcome handled");
    const customer = await h.store.db.customer.findUnique({
      where: { id: sub!.customerId },
      include: { addresses: true },
    });
    expect(customer).toMatchObject({
      firstName: "Shopper",
      lastName: "Moved",
      phone: "+44 1",
      email: email.toLowerCase(),
    });
    expect(customer?.addresses.map((a) => [a.type, a.line1]).sort()).toEqual([
      ["billing", "1 High St"],
      ["delivery", "3 New St"],
    ]);
  });

  it("a new order that failed before reaching Stripe creates nothing; its outcome and sync request are recorded, not retried", async () => {
    const orderId = `order-${hex()}`;
    const subscriptionId = `sub-${hex()}`;
    const outcome = {
      orderId,
      subscriptionId,
      orderType: "new" as const,
      status: "failed" as const,
      action: "none",
      stripe: {},
      error: { code: "card_declined", message: "Your card was declined." },
    };
    await recordOrder(h.store.db, {
      id: orderId,
      reference: hex().slice(0, 12).toUpperCase(),
      type: "new",
      source: "shop",
      subscriptionId,
      status: "failed",
      payload: { order_type: "new", email: "declined@example.com" },
    });
    await h.store.db.order.update({ where: { id: orderId }, data: { outcome } });
    const outcomeId = await h.publishOrderOutcome(outcome);
    const syncId = await publishOrderSync(subscriptionId, orderId);
    await until(
      () => h.inboxHas([outcomeId, syncId]),
      20_000,
      "failed outcome and its sync request recorded",
    );
    expect(await h.store.db.subscription.findUnique({ where: { id: subscriptionId } })).toBeNull();
    const audit = await h.store.db.event.findMany({ where: { orderId } });
    expect(audit).toMatchObject([
      {
        type: "order.failed",
        subscriptionId: null,
        source: "shop",
        changes: { error: { code: "card_declined" } },
      },
    ]);
  });

  it("a second new order of the same email reuses the Limio customer", async () => {
    const email = `repeat-${hex().slice(0, 6)}@example.com`;
    const subs: string[] = [];
    for (const _ of [1, 2]) {
      subs.push(
        await applyNewOrder({
          email,
          source: "salesforce",
          payload: { email: email.toUpperCase(), billingDetails: { email }, orderItems: [] },
        }),
      );
    }
    const rows = await h.store.db.subscription.findMany({ where: { id: { in: subs } } });
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.customerId)).size).toBe(1);
    expect(rows.every((r) => r.source === "salesforce")).toBe(true);
  });
});

describe("an order's sync request that comes back late", () => {
  it("is skipped once a later sync reflected it, so Stripe's own later changes are not attributed to the order", async () => {
    const s = await stripeSubscription(h.stripe);
    const { subscriptionId } = await seedLimioSubscription(h.store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    const issuedAt = new Date(Date.now() - 60_000).toISOString();
    // The outcome's inline sync ran after the writer issued its request.
    const first = await h.publishSyncRequest(subscriptionId, "api");
    await until(() => wasHandled(h.store.db, CONSUMER, first), 30_000, "the later sync");
    // Meanwhile Stripe cancels on its own (a webhook would sync this, as Stripe's change).
    await h.stripe.subscriptions.cancel(s.subscription.id);

    const id = randomUUID();
    await h.producer.publish(h.topics.sync, {
      key: subscriptionId,
      envelope: {
        id,
        type: messageTypes.syncRequested,
        version: 1,
        occurredAt: issuedAt,
        source: "stripe-writer",
        correlationId: randomUUID(),
        data: { subscriptionId, reason: "order", requestId: id, orderId: `order-${hex()}` },
      },
    });
    await until(() => wasHandled(h.store.db, CONSUMER, id), 30_000, "the late order sync request");
    const sub = await findSubscriptionDetail(h.store.db, subscriptionId);
    expect(sub).toMatchObject({ status: "active", stripeStatus: "active" });
    const audit = await listEventsForSubscription(h.store.db, subscriptionId);
    expect(audit.filter((e) => e.causeId === id)).toEqual([]);
  });
});

describe("a new order's offer version", () => {
  it("is kept on the subscription: the version the order named, else the offer's current one", async () => {
    const exported = JSON.parse(
      await readFile(new URL("../../../../test/fixtures/limio/offer-export.json", import.meta.url), "utf8"),
    );
    const [weekend] = exported;
    const republished = structuredClone(weekend);
    republished.version = "5555555555555555555555555555555555555555";
    republished.data.attributes.price__limio[0].value = "15.99";
    await loadCatalog(h.store.db, [weekend]);
    await loadCatalog(h.store.db, [republished]);
    const versions: (string | null)[] = [];
    for (const offer of [{ id: weekend.id, version: weekend.version }, { id: weekend.id }]) {
      const email = `version-${hex().slice(0, 6)}@example.com`;
      const subscriptionId = await applyNewOrder({
        email,
        source: "shop",
        payload: { email, billingDetails: { email }, orderItems: [{ offer, quantity: 1 }] },
      });
      const row = await h.store.db.subscription.findUnique({ where: { id: subscriptionId } });
      expect(row?.offerId).toBe(weekend.id);
      versions.push(row?.offerVersion ?? null);
    }
    expect(versions).toEqual([weekend.version, republished.version]);
  });
});
