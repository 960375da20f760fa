import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { recordOrder } from "@bridge/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bearer,
  keys,
  startTestGateway,
  startTopicReader,
  type TestGateway,
  topicMessageCount,
} from "../test/support.ts";

// Issue 16: input the rest of the system cannot store or bill is refused at the edge, with a 400
// naming the field, and one client's bad request never fails another's.

const newOrder = (): Record<string, unknown> => {
  // Without Limio's own id and reference: each test's order is another order.
  const {
    id: _id,
    order_reference: _ref,
    ...order
  } = JSON.parse(readFileSync(new URL("../../../test/fixtures/limio/new.json", import.meta.url), "utf8"));
  return { ...order, external_id: `EXT-${randomUUID()}` };
};

let gw: TestGateway;
let orders: Awaited<ReturnType<typeof startTopicReader>>;
beforeAll(async () => {
  // One key sends the concurrent requests below: what they test is the body limits, not the
  // per-key limit on requests in flight (key-concurrency.test.ts).
  gw = await startTestGateway({ config: { MAX_CONCURRENT_REQUESTS_PER_KEY: "1000" } });
  orders = await startTopicReader(gw.client, gw.topics.orders);
}, 120_000);
afterAll(async () => {
  await orders?.stop();
  await gw?.close();
});

const post = (payload: unknown, key = keys.shop, headers: Record<string, string> = {}) =>
  gw.app.inject({
    method: "POST",
    url: "/api/orders",
    headers: { ...bearer(key), "content-type": "application/json", ...headers },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });

/** `order` with `value` put at the dotted `path` (numeric segments index arrays). */
function withValue(order: Record<string, unknown>, path: string, value: unknown) {
  const copy = structuredClone(order);
  const segments = path.split(".");
  let at: Record<string, unknown> = copy;
  for (const segment of segments.slice(0, -1)) {
    at[segment] ??= {};
    at = at[segment] as Record<string, unknown>;
  }
  at[segments.at(-1)!] = value;
  return copy;
}

describe("strings Postgres' JSON cannot hold", () => {
  // Every kind of string field: idempotency identity (external_id, source), a validated nested
  // field, an array element's field, a loose known object, an unknown field, a free-text field.
  const fields = [
    "external_id",
    "source",
    "billingDetails.address1",
    "orderItems.0.offer.id",
    "customerDetails.firstName",
    "tracking.campaign",
    "notes",
  ];
  const nasty = { NUL: "a\u0000b", "lone high surrogate": "a\ud800b", "lone low surrogate": "\udc00" };

  for (const [kind, value] of Object.entries(nasty)) {
    it(`refuses a ${kind} in each kind of string field with 400 naming it, publishing nothing`, async () => {
      const before = await topicMessageCount(gw.client, gw.topics.orders);
      for (const field of fields) {
        const response = await post(withValue(newOrder(), field, value));
        expect(response.statusCode, field).toBe(400);
        expect(response.json().error).toMatchObject({ code: "invalid_input", details: [{ path: field }] });
      }
      const inKey = await post({ ...newOrder(), [`bad${value}key`]: 1 });
      expect(inKey.statusCode).toBe(400);
      expect(inKey.json().error.details[0].message).toMatch(/field name/);
      expect(await topicMessageCount(gw.client, gw.topics.orders)).toBe(before);
    });
  }

  it("keeps a well-formed surrogate pair (an emoji) and other Unicode", async () => {
    const order = newOrder();
    const response = await post({
      ...order,
      billingDetails: { ...(order.billingDetails as object), firstName: "Zoë 🎉 東京" },
    });
    expect(response.statusCode).toBe(202);
  });
});

describe("quantities, amounts and sizes outside the configured bounds", () => {
  it("refuses a huge quantity and one above MAX_QUANTITY (100)", async () => {
    for (const quantity of [9_007_199_254_740_991, 100_000, 101]) {
      const response = await post(withValue(newOrder(), "orderItems.0.quantity", quantity));
      expect(response.statusCode).toBe(400);
      expect(response.json().error.details).toEqual([
        { path: "orderItems.0.quantity", message: "at most 100" },
      ]);
    }
    expect((await post(withValue(newOrder(), "orderItems.0.quantity", 100))).statusCode).toBe(202);
  });

  it("refuses amounts beyond Stripe's 8 digits, wherever they are", async () => {
    const response = await post(withValue(newOrder(), "payment.amount", 100_000_000));
    expect(response.statusCode).toBe(400);
    expect(response.json().error.details[0].path).toBe("payment.amount");
  });

  it("refuses 13,000 order items, 800 KB of unknown fields, long strings and deep nesting", async () => {
    const item = (newOrder().orderItems as unknown[])[0];
    const cases: [unknown, string][] = [
      [{ ...newOrder(), orderItems: Array.from({ length: 1_000 }, () => item) }, "orderItems"],
      [{ ...newOrder(), orderItems: Array.from({ length: 21 }, () => item) }, "orderItems"],
      [
        { ...newOrder(), extra: Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`f${i}`, i])) },
        "extra",
      ],
      [{ ...newOrder(), notes: "x".repeat(10_001) }, "notes"],
      [{ ...newOrder(), tags: Array.from({ length: 101 }, () => "t") }, "tags"],
    ];
    for (const [body, path] of cases) {
      const response = await post(body);
      expect(response.statusCode, path).toBe(400);
      expect(response.json().error.details[0].path).toBe(path);
    }
    // Larger bodies are refused whole (BODY_LIMIT_BYTES, 256 KiB) before they are parsed.
    for (const big of [
      { ...newOrder(), extra: "x".repeat(800_000) },
      { ...newOrder(), orderItems: Array.from({ length: 13_000 }, () => item) },
    ]) {
      expect((await post(big)).statusCode).toBe(413);
    }
  });
});

/** A JSON text nested `depth` arrays deep inside an otherwise valid order. */
const deepOrder = (depth: number) => {
  const order = JSON.stringify(newOrder());
  return `${order.slice(0, -1)},"deep":${"[".repeat(depth)}${"]".repeat(depth)}}`;
};

describe("one client's bad request never fails its neighbours", () => {
  it("a 10,000-deep body among 60 valid orders: the deep ones 400, every valid one 202 and in the topic", async () => {
    const valid = Array.from({ length: 60 }, () => newOrder());
    const requests = [
      ...valid.map((order) => post(order)),
      ...Array.from({ length: 6 }, () => post(deepOrder(10_000))),
    ];
    const responses = await Promise.all(requests);
    const deep = responses.slice(60);
    for (const response of deep) {
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toMatchObject({
        code: "invalid_input",
        details: [{ path: "deep.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0" }],
      });
    }
    const ids = responses.slice(0, 60).map((response) => {
      expect(response.statusCode).toBe(202);
      return response.json().id as string;
    });
    for (const id of ids) await orders.find((m) => m.envelope.id === id);
  });

  it("orders that together exceed the broker's largest message are all accepted, in batches under it", async () => {
    // 20 orders of ~120 KB each, sent at once: 2.4 MB would be one batch of twice Kafka's 1 MB limit.
    // The bulk sits in `orderState`, the shop's UI state that the bridge keeps whole (field rules).
    const bulky = () => ({
      ...newOrder(),
      orderState: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`note${i}`, "n".repeat(10_000)])),
    });
    const responses = await Promise.all(Array.from({ length: 20 }, () => post(bulky())));
    for (const response of responses) expect(response.statusCode).toBe(202);
    for (const response of responses) await orders.find((m) => m.envelope.id === response.json().id);
  });
});

describe("idempotency per API key (decision 008)", () => {
  const recordAsWriter = async (id: string) => {
    const message = await orders.find((m) => m.envelope.id === id);
    const data = message.envelope.data as {
      orderId: string;
      subscriptionId: string;
      order: Record<string, unknown>;
    };
    return recordOrder(gw.store.db, {
      id: data.orderId,
      reference: data.order.order_reference as string,
      type: "new",
      source: "shop",
      externalId: data.order.external_id as string,
      subscriptionId: data.subscriptionId,
      status: "applied",
      payload: data.order,
    });
  };

  it("the same external_id from two API keys are two orders, each recorded by the writer", async () => {
    const order = newOrder();
    const first = await post(order, keys.shop);
    expect(first.statusCode).toBe(202);
    expect(await recordAsWriter(first.json().id)).toBe(true);

    for (const headers of [{}, { "idempotency-key": `k-${randomUUID()}` }] as Record<string, string>[]) {
      const other = await post(order, keys.all, headers);
      expect(other.statusCode).toBe(202);
      expect(other.json().id).not.toBe(first.json().id);
      expect(JSON.stringify(other.json())).not.toContain(first.json().id);
    }
    const other = await post(order, keys.all);
    expect(await recordAsWriter(other.json().id)).toBe(true);
    expect(await gw.store.db.order.count({ where: { externalId: order.external_id as string } })).toBe(2);
  });

  it("a later Idempotency-Key from the same client finds the order its external_id made", async () => {
    const order = newOrder();
    const first = await post(order);
    await recordAsWriter(first.json().id);
    const again = await post(order, keys.shop, { "idempotency-key": `k-${randomUUID()}` });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ...first.json(), status: "applied" });
  });

  it("409 names the fields that differ", async () => {
    const order = newOrder();
    const first = await post(order);
    await recordAsWriter(first.json().id);
    const conflict = await post({ ...order, country: "FR", checkoutId: "basket-other" });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error).toMatchObject({
      code: "idempotency_conflict",
      details: [{ path: "checkoutId" }, { path: "country" }],
    });
    expect(conflict.json().error.message).toContain("with different checkoutId, country");
  });
});
