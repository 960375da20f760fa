import { recordOrder } from "@bridge/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, keys, seedSubscription, startTestGateway, type TestGateway } from "../../test/support.ts";

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
}, 120_000);

afterAll(async () => {
  await gw?.close();
});

const get = (url: string, key = keys.reader) => gw.app.inject({ method: "GET", url, headers: bearer(key) });

describe("GET /api/orders/{id}", () => {
  it("returns the order's status and outcome, without secrets; 404 for an unknown order", async () => {
    const sub = await seedSubscription(gw.store);
    const id = "order-0123456789abcdef0123456789abcdef";
    await recordOrder(gw.store.db, {
      id,
      reference: "8HK92PM4Q7WX",
      type: "cancel_subscription",
      source: "shop",
      externalId: "EXT-1",
      subscriptionId: sub.id,
      status: "applied",
      payload: { order_type: "cancel_subscription" },
    });
    await gw.store.db.order.update({
      where: { id },
      data: {
        outcome: {
          status: "applied",
          action: "cancel_scheduled",
          stripe: { subscriptionId: "sub_X1" },
          clientSecret: { type: "payment_intent", value: "pi_secret_never_shown" },
        },
      },
    });
    const response = await get(`/api/orders/${id}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id,
      order_reference: "8HK92PM4Q7WX",
      order_type: "cancel_subscription",
      status: "applied",
      external_id: "EXT-1",
      subscriptionId: sub.id,
      subscriptionReference: sub.reference,
      outcome: { status: "applied", action: "cancel_scheduled", stripe: { subscriptionId: "sub_X1" } },
    });
    expect(response.body).not.toContain("pi_secret_never_shown");

    const missing = await get("/api/orders/order-ffffffffffffffffffffffffffffffff");
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe("order_not_found");
    expect((await get(`/api/orders/${id}`, keys.shop)).statusCode).toBe(403);
  });
});

describe("GET /api/subscriptions/{id}", () => {
  it("returns the subscription with its payment schedules, payment method and event log; 404 when unknown", async () => {
    const sub = await seedSubscription(gw.store);
    await gw.store.db.paymentSchedule.create({
      data: {
        id: "schedule-0123456789abcdef0123456789abcdef",
        subscriptionId: sub.id,
        stripeKey: "in_1",
        stripeInvoiceId: "in_1",
        status: "paid",
        amount: 1499,
        currency: "gbp",
        dueDate: new Date("2026-11-21T10:00:00Z"),
      },
    });
    await gw.store.db.paymentMethod.create({
      data: {
        subscriptionId: sub.id,
        stripePaymentMethodId: "pm_1",
        type: "card",
        brand: "visa",
        last4: "4242",
        expMonth: 12,
        expYear: 2030,
      },
    });
    await gw.store.db.event.create({
      data: {
        id: "event-0123456789abcdef0123456789abcdef",
        subscriptionId: sub.id,
        type: "subscription.status_changed",
        source: "stripe",
        causeId: "evt_1",
        changes: { status: { from: "pending", to: "active" } },
      },
    });
    const response = await get(`/api/subscriptions/${sub.id}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id: sub.id,
      reference: sub.reference,
      status: "active",
      stripe: { subscriptionId: sub.stripeSubscriptionId, customerId: sub.stripeCustomerId },
      paymentSchedules: [
        {
          id: "schedule-0123456789abcdef0123456789abcdef",
          status: "paid",
          amount: 1499,
          dueDate: "2026-11-21T10:00:00.000Z",
        },
      ],
      paymentMethod: { brand: "visa", last4: "4242", expMonth: 12, expYear: 2030 },
      events: [
        {
          type: "subscription.status_changed",
          source: "stripe",
          changes: { status: { from: "pending", to: "active" } },
        },
      ],
    });

    const missing = await get("/api/subscriptions/sub-ffffffffffffffffffffffffffffffff");
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({
      error: { code: "subscription_not_found", message: expect.any(String) },
    });
    expect((await get(`/api/subscriptions/${sub.id}`, keys.ops)).statusCode).toBe(403);
  });
});
