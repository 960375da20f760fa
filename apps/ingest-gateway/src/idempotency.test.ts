import { readFileSync } from "node:fs";
import {
  canonicalJson,
  limioOrderId,
  limioReference,
  limioSubscriptionId,
  messageTypes,
  parseMessageData,
} from "@bridge/domain";
import { describe, expect, it } from "vitest";
import { deriveOrderIds, orderIdentity, orderPayloadHash } from "./idempotency.ts";
import { createOutcomeRegistry } from "./outcome-waiter.ts";

describe("order identity and derived ids", () => {
  it("prefers the Idempotency-Key, then source + external_id, else a random identity", () => {
    expect(orderIdentity({ idempotencyKey: "k1", source: "shop", externalId: "E1" })).toEqual({
      kind: "idempotency_key",
      value: "key:k1",
    });
    expect(orderIdentity({ source: "shop", externalId: "E1" })).toEqual({
      kind: "external_id",
      value: "ext:shop:E1",
    });
    const a = orderIdentity({ source: "shop" });
    const b = orderIdentity({ source: "shop" });
    expect(a.kind).toBe("random");
    expect(a.value).not.toBe(b.value);
  });

  it("derives valid, stable ids and references, scoped by API key name", () => {
    const identity = orderIdentity({ source: "shop", externalId: "E1" });
    const first = deriveOrderIds("shop", identity);
    expect(deriveOrderIds("shop", identity)).toEqual(first);
    expect(limioOrderId.safeParse(first.orderId).success).toBe(true);
    expect(limioSubscriptionId.safeParse(first.newSubscriptionId).success).toBe(true);
    expect(limioReference.safeParse(first.orderReference).success).toBe(true);
    expect(limioReference.safeParse(first.newSubscriptionReference).success).toBe(true);
    expect(first.orderReference).not.toBe(first.newSubscriptionReference);
    const other = deriveOrderIds("salesforce", identity);
    expect(other.orderId).not.toBe(first.orderId);
    expect(other.newSubscriptionId).not.toBe(first.newSubscriptionId);
    expect(deriveOrderIds("shop", orderIdentity({ source: "shop", externalId: "E2" })).orderId).not.toBe(
      first.orderId,
    );
  });

  it("hashes payloads regardless of key order and of process_immediately, and finds the order inside message data", () => {
    const order = { order_type: "new", country: "GB", billingDetails: { city: "London", country: "GB" } };
    const reordered = { billingDetails: { country: "GB", city: "London" }, country: "GB", order_type: "new" };
    expect(canonicalJson(order)).toBe(canonicalJson(reordered));
    expect(orderPayloadHash(order)).toBe(orderPayloadHash({ ...reordered, process_immediately: true }));
    expect(orderPayloadHash({ orderId: "order-x", order })).toBe(orderPayloadHash(order));
    expect(orderPayloadHash({ ...order, country: "FR" })).not.toBe(orderPayloadHash(order));
  });
});

describe("the payload hash against what the writer records", () => {
  it("is unchanged by the writer's re-parse of data.order and by a JSONB round trip, for every fixture", () => {
    for (const name of ["new", "cancel_subscription", "change_address", "change_payment", "change_offer"]) {
      const raw = JSON.parse(
        readFileSync(new URL(`../../../test/fixtures/limio/${name}.json`, import.meta.url), "utf8"),
      );
      const parsed = parseMessageData(messageTypes.orderSubmitted, 1, {
        orderId: "order-0123456789abcdef0123456789abcdef",
        subscriptionId:
          raw.subscriptionId ?? raw.forSubscription?.id ?? "sub-0123456789abcdef0123456789abcdef",
        order: raw,
        receivedAt: new Date().toISOString(),
        source: "shop",
      });
      expect(parsed.ok, name).toBe(true);
      if (!parsed.ok) continue;
      // What the gateway publishes: the normalised order plus its derived fields.
      const published = {
        ...parsed.data.order,
        id: "order-0123456789abcdef0123456789abcdef",
        order_reference: "8HK92PM4Q7WX",
      };
      // What the writer records: data.order re-parsed, stored as JSONB (keys reordered).
      const reparsed = parseMessageData(messageTypes.orderSubmitted, 1, { ...parsed.data, order: published });
      expect(reparsed.ok, name).toBe(true);
      if (!reparsed.ok) continue;
      const stored = JSON.parse(canonicalJson(reparsed.data.order));
      expect(orderPayloadHash(stored), name).toBe(orderPayloadHash(published));
    }
  });
});

describe("outcome registry", () => {
  it("resolves every waiter of an order with its outcome, and undefined on timeout or abort", async () => {
    const registry = createOutcomeRegistry();
    const outcome = {
      orderId: "order-0123456789abcdef0123456789abcdef",
      subscriptionId: "sub-0123456789abcdef0123456789abcdef",
      orderType: "new" as const,
      status: "applied" as const,
      action: "subscription_created",
      stripe: {},
      completedAt: new Date().toISOString(),
    };
    const a = registry.wait(outcome.orderId, 5_000);
    const b = registry.wait(outcome.orderId, 5_000);
    const other = registry.wait("order-ffffffffffffffffffffffffffffffff", 50);
    const controller = new AbortController();
    const aborted = registry.wait("order-eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", 5_000, controller.signal);
    expect(registry.pending()).toBe(3);
    registry.deliver(outcome);
    controller.abort();
    expect(await a).toEqual(outcome);
    expect(await b).toEqual(outcome);
    expect(await other).toBeUndefined();
    expect(await aborted).toBeUndefined();
    expect(registry.pending()).toBe(0);
  });
});
