import { createHmac, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startTestGateway,
  startTopicReader,
  type TestGateway,
  topicMessageCount,
  webhookSecrets,
} from "../../../test/support.ts";

let gw: TestGateway;
let events: Awaited<ReturnType<typeof startTopicReader>>;

beforeAll(async () => {
  gw = await startTestGateway();
  events = await startTopicReader(gw.client, gw.topics.stripeEvents);
}, 120_000);

afterAll(async () => {
  await events?.stop();
  await gw?.close();
});

const alnum = () => randomUUID().replaceAll("-", "").slice(0, 20);

function stripeEvent(type = "customer.subscription.updated") {
  const subscriptionId = `sub_${alnum()}`;
  const event = {
    id: `evt_${alnum()}`,
    object: "event",
    api_version: "2026-10-28.clover",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    type,
    request: { id: null, idempotency_key: null },
    data: {
      object: { id: subscriptionId, object: "subscription", customer: `cus_${alnum()}`, status: "active" },
    },
  };
  // Stripe's own formatting: the signature must be checked over these exact bytes.
  return { event, subscriptionId, payload: JSON.stringify(event, null, 2) };
}

/** Stripe's own sample objects (stripe/openapi fixtures3.json), as the emulator's contract tests use them. */
const stripeFixtures: Record<string, Record<string, unknown>> = JSON.parse(
  readFileSync(
    new URL("../../../../stripe-emulator/test-fixtures/stripe-fixtures.json", import.meta.url),
    "utf8",
  ),
).resources;

/**
 * A `customer.subscription.updated` event as Stripe sends it for a subscription of `itemCount`
 * items (the writer creates up to 20, add-ons on top) whose items changed: Stripe's fixture
 * subscription and items, and `previous_attributes.items` holding the whole former list.
 */
function largeSubscriptionEvent(itemCount: number) {
  const subscriptionId = `sub_${alnum()}`;
  const customerId = `cus_${alnum()}`;
  const items = (quantity: number) => ({
    object: "list",
    data: Array.from({ length: itemCount }, (_, index) => ({
      ...stripeFixtures.subscription_item,
      id: `si_${alnum()}`,
      subscription: subscriptionId,
      quantity: quantity + index,
      metadata: { limio_order_item: `item-${index}`, limio_offer: `offer-${index}` },
    })),
    has_more: false,
    total_count: itemCount,
    url: `/v1/subscription_items?subscription=${subscriptionId}`,
  });
  const event = {
    id: `evt_${alnum()}`,
    object: "event",
    api_version: "2026-10-28.clover",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    type: "customer.subscription.updated",
    request: { id: `req_${alnum()}`, idempotency_key: randomUUID() },
    data: {
      object: {
        ...stripeFixtures.subscription,
        id: subscriptionId,
        customer: customerId,
        status: "active",
        items: items(2),
      },
      previous_attributes: { items: items(1) },
    },
  };
  return { event, subscriptionId, customerId, payload: JSON.stringify(event, null, 2) };
}

/** Exactly as Stripe (and the emulator) sign: `t=<unix>,v1=<hex hmac_sha256(secret, "t.body")>`. */
function handSigned(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)) {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${payload}`, "utf8").digest("hex");
  return `t=${timestamp},v1=${v1}`;
}

const deliver = (payload: string, signature?: string) =>
  gw.app.inject({
    method: "POST",
    url: "/webhooks/stripe",
    headers: {
      "content-type": "application/json; charset=utf-8",
      ...(signature === undefined ? {} : { "stripe-signature": signature }),
    },
    payload,
  });

describe("POST /webhooks/stripe", () => {
  it("accepts an event signed by the Stripe SDK: 200 once it is in stripe.events.v1, keyed by the Stripe customer (decision 030)", async () => {
    const { event, subscriptionId, payload } = stripeEvent();
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: webhookSecrets.current });
    const response = await deliver(payload, header);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ received: true, id: event.id, published: true });
    const message = await events.find((m) => m.envelope.id === event.id);
    expect(message.key).toBe(event.data.object.customer);
    expect(message.envelope).toMatchObject({
      type: "stripe.event.received",
      version: 1,
      source: "stripe",
      data: {
        eventId: event.id,
        type: event.type,
        object: { id: subscriptionId, type: "subscription" },
        related: { subscriptionId, customerId: event.data.object.customer },
      },
    });
  });

  it("accepts a hand-made HMAC signature and the rotated (second) secret", async () => {
    const handMade = stripeEvent("invoice.paid");
    const first = await deliver(handMade.payload, handSigned(handMade.payload, webhookSecrets.current));
    expect(first.statusCode).toBe(200);
    await events.find((m) => m.envelope.id === handMade.event.id);

    const rotated = stripeEvent();
    const second = await deliver(rotated.payload, handSigned(rotated.payload, webhookSecrets.previous));
    expect(second.statusCode).toBe(200);
    await events.find((m) => m.envelope.id === rotated.event.id);
  });

  it("refuses a tampered body, a wrong secret, an expired or future timestamp and a missing header with 400, publishing nothing", async () => {
    const before = await topicMessageCount(gw.client, gw.topics.stripeEvents);
    const { payload } = stripeEvent();
    const good = handSigned(payload, webhookSecrets.current);
    const cases = [
      {
        name: "tampered",
        payload: payload.replace('"active"', '"canceled"'),
        signature: good,
        reason: "mismatch",
      },
      {
        name: "wrong secret",
        payload,
        signature: handSigned(payload, "whsec_someone_else"),
        reason: "mismatch",
      },
      {
        name: "expired",
        payload,
        signature: handSigned(payload, webhookSecrets.current, Math.floor(Date.now() / 1000) - 600),
        reason: "expired",
      },
      {
        // Well beyond the tolerance in the future (the SDK alone accepts it); a margin of a second
        // or two flaked when the clock crossed a second between signing and verifying.
        name: "future",
        payload,
        signature: handSigned(payload, webhookSecrets.current, Math.floor(Date.now() / 1000) + 600),
        reason: "future",
      },
      { name: "missing header", payload, signature: undefined, reason: "missing_header" },
      { name: "garbage header", payload, signature: "nonsense", reason: "malformed_header" },
    ];
    for (const c of cases) {
      const response = await deliver(c.payload, c.signature);
      expect(response.statusCode, c.name).toBe(400);
      expect(response.json(), c.name).toEqual({
        error: { code: "invalid_signature", message: expect.stringContaining(c.reason) },
      });
      expect(response.body).not.toContain("v1=");
    }
    const metrics = await gw.metrics.render();
    for (const reason of ["mismatch", "expired", "future", "missing_header", "malformed_header"]) {
      expect(metrics).toMatch(
        new RegExp(`gateway_webhook_verification_failures_total\\{reason="${reason}"[^}]*\\} [1-9]`),
      );
    }
    // A valid delivery after them proves the reader is live; the refused ones never reached the topic.
    const valid = stripeEvent();
    expect((await deliver(valid.payload, handSigned(valid.payload, webhookSecrets.current))).statusCode).toBe(
      200,
    );
    await events.find((m) => m.envelope.id === valid.event.id);
    expect(await topicMessageCount(gw.client, gw.topics.stripeEvents)).toBe(before + 1);
  });

  it("acknowledges and counts event types the bridge does not handle, without publishing them", async () => {
    const before = await topicMessageCount(gw.client, gw.topics.stripeEvents);
    const { event, payload } = stripeEvent("radar.early_fraud_warning.created");
    const response = await deliver(payload, handSigned(payload, webhookSecrets.current));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ received: true, id: event.id, published: false });
    expect(await gw.metrics.render()).toMatch(
      /gateway_webhook_unknown_event_types_total\{type="radar.early_fraud_warning.created"[^}]*\} 1/,
    );
    expect(await topicMessageCount(gw.client, gw.topics.stripeEvents)).toBe(before);
  });

  it("accepts and publishes a signed event of a 20-item subscription whose items changed (over the order body's 1,000 fields)", async () => {
    const { event, subscriptionId, customerId, payload } = largeSubscriptionEvent(20);
    // Over every order limit a verified event used to be held to: fields, not bytes.
    expect(payload.match(/":/g)?.length).toBeGreaterThan(2_000);
    expect(Buffer.byteLength(payload)).toBeLessThan(256 * 1024);
    const response = await deliver(payload, handSigned(payload, webhookSecrets.current));
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ received: true, id: event.id, published: true });
    const message = await events.find((m) => m.envelope.id === event.id);
    expect(message.key).toBe(customerId);
    expect(message.envelope).toMatchObject({
      data: { related: { subscriptionId, customerId }, event: { id: event.id } },
    });
    const published = (message.envelope.data as { event: typeof event }).event.data;
    expect(published.object.items.data).toHaveLength(20);
    expect(published.previous_attributes.items.data).toHaveLength(20);
  });

  it("refuses a signed event carrying a string Postgres cannot store, naming the field", async () => {
    const { event } = stripeEvent();
    const payload = JSON.stringify({
      ...event,
      data: { object: { ...event.data.object, description: "a\u0000b" } },
    });
    const response = await deliver(payload, handSigned(payload, webhookSecrets.current));
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: "invalid_input",
      details: [{ path: "data.object.description" }],
    });
  });

  it("refuses a signed body that is not a Stripe event with 400", async () => {
    const payload = JSON.stringify({ hello: "world" });
    const response = await deliver(payload, handSigned(payload, webhookSecrets.current));
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe("invalid_event");
  });
});

describe("POST /webhooks/stripe with the broker unavailable", () => {
  it("answers 503 with Retry-After (so Stripe retries), never 200", async () => {
    const down = await startTestGateway({
      topics: gw.topics,
      brokers: ["127.0.0.1:1"],
      config: { KAFKA_PUBLISH_TIMEOUT_MS: "800" },
    });
    try {
      const { payload } = stripeEvent();
      const started = Date.now();
      const response = await down.app.inject({
        method: "POST",
        url: "/webhooks/stripe",
        headers: {
          "content-type": "application/json",
          "stripe-signature": handSigned(payload, webhookSecrets.current),
        },
        payload,
      });
      expect(response.statusCode).toBe(503);
      expect(response.headers["retry-after"]).toBe("5");
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await down.close();
    }
  });
});
