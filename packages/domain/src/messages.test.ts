import { describe, expect, it } from "vitest";
import {
  isMessageType,
  messageSchemas,
  parseMessage,
  parseMessageData,
  stripeEventReceivedData,
} from "./messages.ts";

const SUB = "sub-5c3d83c60950014c306865f0ab8c499b";
const ORDER = "order-6f1c2a9d3b7e4f0a8c5d1e2f3a4b5c6d";
const NOW = "2026-11-21T10:00:00.000Z";

const submitted = {
  orderId: ORDER,
  subscriptionId: SUB,
  receivedAt: NOW,
  source: "shop",
  order: { order_type: "cancel_subscription", forSubscription: { id: SUB } },
};

describe("parseMessageData", () => {
  it("parses limio.order.submitted v1 and normalises the embedded order", () => {
    const r = parseMessageData("limio.order.submitted", 1, submitted);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.data.order).toHaveProperty("subscriptionId", SUB);
  });

  it("names the invalid field inside the embedded order", () => {
    const r = parseMessageData("limio.order.submitted", 1, { ...submitted, order: { order_type: "renew" } });
    expect(r.ok ? null : r.errors).toEqual([
      { path: "order.order_type", message: expect.stringMatching(/unsupported order_type 'renew'/) },
    ]);
  });

  it("refuses unknown types and versions", () => {
    expect(parseMessageData("limio.nope", 1, {})).toMatchObject({ ok: false, code: "unknown_type" });
    expect(parseMessageData("limio.order.outcome", 2, {})).toMatchObject({
      ok: false,
      code: "unknown_version",
      errors: [{ path: "version", message: "unknown version 2 of 'limio.order.outcome'; known: 1" }],
    });
    expect(isMessageType("limio.sync.requested")).toBe(true);
    expect(isMessageType("toString")).toBe(false);
    expect(Object.keys(messageSchemas).sort()).toEqual([
      "limio.order.outcome",
      "limio.order.submitted",
      "limio.sync.requested",
      "stripe.event.received",
    ]);
  });

  it("limio.order.outcome v1: error required iff failed, Stripe ids checked", () => {
    const base = {
      orderId: ORDER,
      subscriptionId: SUB,
      orderType: "new",
      action: "subscription_created",
      completedAt: NOW,
    };
    const applied = parseMessageData("limio.order.outcome", 1, {
      ...base,
      status: "applied",
      stripe: { customerId: "cus_1", subscriptionId: "sub_1", invoiceId: "in_1" },
      clientSecret: { type: "invoice_confirmation_secret", value: "pi_1_secret_x" },
    });
    expect(applied.ok).toBe(true);
    expect(parseMessageData("limio.order.outcome", 1, { ...base, status: "skipped" })).toMatchObject({
      ok: true,
      data: { stripe: {} },
    });
    expect(parseMessageData("limio.order.outcome", 1, { ...base, status: "failed" })).toMatchObject({
      ok: false,
      errors: [{ path: "error", message: "required when failed" }],
    });
    expect(
      parseMessageData("limio.order.outcome", 1, {
        ...base,
        status: "applied",
        error: { code: "x", message: "y" },
      }),
    ).toMatchObject({ ok: false, errors: [{ path: "error", message: "must be absent when applied" }] });
    expect(
      parseMessageData("limio.order.outcome", 1, {
        ...base,
        status: "failed",
        error: { code: "card_declined", message: "Your card was declined.", stripeCode: "card_declined" },
      }).ok,
    ).toBe(true);
    expect(
      parseMessageData("limio.order.outcome", 1, {
        ...base,
        status: "applied",
        stripe: { subscriptionId: "sub_sched_1" },
      }),
    ).toMatchObject({ ok: false, errors: [{ path: "stripe.subscriptionId" }] });
  });

  it("limio.sync.requested v1", () => {
    expect(
      parseMessageData("limio.sync.requested", 1, { subscriptionId: SUB, reason: "webhook", requestId: "r1" })
        .ok,
    ).toBe(true);
    expect(
      parseMessageData("limio.sync.requested", 1, { subscriptionId: SUB, reason: "cron", requestId: "r1" }),
    ).toMatchObject({
      ok: false,
      errors: [{ path: "reason" }],
    });
  });
});

describe("stripeEventReceivedData", () => {
  it("builds a valid stripe.event.received payload with related ids", () => {
    const event = {
      id: "evt_1",
      object: "event",
      type: "invoice.paid",
      created: 1763719200,
      livemode: false,
      data: {
        object: {
          object: "invoice",
          id: "in_1",
          customer: "cus_1",
          parent: { subscription_details: { subscription: "sub_1" } },
        },
      },
      request: { id: null, idempotency_key: null },
    };
    const data = stripeEventReceivedData(event);
    expect(data).toMatchObject({
      eventId: "evt_1",
      type: "invoice.paid",
      object: { id: "in_1", type: "invoice" },
      related: { subscriptionId: "sub_1", customerId: "cus_1", invoiceId: "in_1" },
    });
    expect(parseMessageData("stripe.event.received", 1, JSON.parse(JSON.stringify(data))).ok).toBe(true);
    expect(stripeEventReceivedData({ ...event, data: { object: { object: "balance" } } }).object).toEqual({
      type: "balance",
    });
  });
});

describe("parseMessage", () => {
  const envelope = {
    id: "m1",
    type: "limio.sync.requested",
    version: 1,
    occurredAt: NOW,
    source: "ingest-gateway",
    correlationId: "c1",
    data: { subscriptionId: SUB, reason: "api", requestId: "r1" },
  };
  it("validates the envelope and its data together", () => {
    expect(parseMessage(envelope)).toEqual({ ok: true, envelope });
    expect(parseMessage({ ...envelope, id: "" })).toMatchObject({
      ok: false,
      code: "invalid_envelope",
      errors: [{ path: "id" }],
    });
    expect(parseMessage(null)).toMatchObject({
      ok: false,
      code: "invalid_envelope",
      errors: [{ path: "(root)" }],
    });
    expect(parseMessage({ ...envelope, data: { ...envelope.data, reason: "cron" } })).toMatchObject({
      ok: false,
      code: "invalid_data",
      errors: [{ path: "data.reason" }],
    });
    expect(parseMessage({ ...envelope, data: "x" })).toMatchObject({ errors: [{ path: "data" }] });
    expect(parseMessage({ ...envelope, version: 9 })).toMatchObject({
      code: "unknown_version",
      errors: [{ path: "version" }],
    });
  });
});
