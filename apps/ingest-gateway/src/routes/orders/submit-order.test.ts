import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { type Envelope, generateLimioReference, messageTypes, type OrderOutcomeV1 } from "@bridge/domain";
import { freshDatabase } from "@bridge/local-infra/testing";
import { createStore, recordOrder, SYNC_INBOX, sqlOf } from "@bridge/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bearer,
  keys,
  seedSubscription,
  startTestGateway,
  startTopicReader,
  type TestGateway,
  testClient,
  topicMessageCount,
  until,
} from "../../../test/support.ts";
import { deriveOrderIds, orderIdentity } from "../../idempotency.ts";
import { type OrderOutcomeWaiter, startOutcomeWaiter } from "../../outcome-waiter.ts";

const limioFixture = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../../../../../test/fixtures/limio/${name}.json`, import.meta.url), "utf8"),
  );
/** A fixture without Limio's own id and references: most tests here exercise the minted ones. */
const fixture = (name: string) => {
  const { id: _id, order_reference: _ref, sub_reference: _sub, ...order } = limioFixture(name);
  return order;
};

let gw: TestGateway;
let outcomes: OrderOutcomeWaiter;
let orders: Awaited<ReturnType<typeof startTopicReader>>;

/** Publishes an outcome as the stripe-writer would. */
async function publishOutcome(
  outcome: Omit<OrderOutcomeV1, "completedAt" | "stripe"> & Partial<OrderOutcomeV1>,
) {
  const envelope: Envelope<OrderOutcomeV1> = {
    id: randomUUID(),
    type: messageTypes.orderOutcome,
    version: 1,
    occurredAt: new Date().toISOString(),
    source: "stripe-writer",
    correlationId: randomUUID(),
    data: { stripe: {}, completedAt: new Date().toISOString(), ...outcome },
  };
  await gw.producer.publish(gw.topics.orderOutcomes, { key: outcome.subscriptionId, envelope });
}

/** The outcome of a new order the writer applied. */
const publishNewOrderApplied = (
  data: { orderId: string; subscriptionId: string },
  extra: Partial<OrderOutcomeV1> = {},
) =>
  publishOutcome({
    orderId: data.orderId,
    subscriptionId: data.subscriptionId,
    orderType: "new",
    status: "applied",
    action: "subscription_created",
    ...extra,
  });

beforeAll(async () => {
  const client = testClient("gateway-outcomes");
  const { freshTopics } = await import("../../../test/support.ts");
  const topics = await freshTopics();
  outcomes = await startOutcomeWaiter(client, { topic: topics.orderOutcomes, logger: client.logger });
  gw = await startTestGateway({ topics, outcomes });
  orders = await startTopicReader(gw.client, gw.topics.orders);
  // The waiter's group reads new messages only: wait until it has joined and sees outcomes.
  const probe = `order-${randomUUID().replaceAll("-", "")}`;
  await until(
    async () => {
      const seen = outcomes.wait(probe, 500);
      await publishOutcome({
        orderId: probe,
        subscriptionId: "sub-00000000000000000000000000000000",
        orderType: "new",
        status: "skipped",
        action: "none",
      });
      return (await seen) !== undefined;
    },
    60_000,
    "the outcome consumer to join",
  );
}, 120_000);

afterAll(async () => {
  await orders?.stop();
  await outcomes?.stop();
  await gw?.close();
});

const post = (payload: object, headers: Record<string, string> = {}) =>
  gw.app.inject({
    method: "POST",
    url: "/api/orders",
    headers: { ...bearer(keys.shop), ...headers },
    payload,
  });

/** Submits a new order, then records it as the writer does once applied (payload = the order as published). */
async function submitAndRecordApplied(order: { external_id: string }) {
  const first = await post(order);
  const published = await orders.find((m) => m.envelope.id === first.json().id);
  const data = published.envelope.data as { orderId: string; subscriptionId: string; order: object };
  await recordOrder(gw.store.db, {
    id: data.orderId,
    reference: first.json().order_reference,
    type: "new",
    source: "shop",
    externalId: order.external_id,
    subscriptionId: data.subscriptionId,
    status: "applied",
    payload: data.order,
  });
  return first;
}

describe("POST /api/orders", () => {
  it("queues a new order: 202 only once the message is in limio.orders.v1, keyed by the new subscription", async () => {
    const order = { ...fixture("new"), external_id: `EXT-${randomUUID()}` };
    const response = await post(order, { "x-correlation-id": "corr-new-1" });
    expect(response.statusCode).toBe(202);
    const body = response.json();
    expect(body).toEqual({
      id: expect.stringMatching(/^order-[0-9a-f]{32}$/),
      order_reference: expect.stringMatching(/^[A-Z0-9]{12}$/),
      status: "queued",
      external_id: order.external_id,
      subscriptionId: expect.stringMatching(/^sub-[0-9a-f]{32}$/),
      subscriptionReference: expect.stringMatching(/^[A-Z0-9]{12}$/),
      owner: null,
    });
    expect(response.headers["x-correlation-id"]).toBe("corr-new-1");

    const message = await orders.find((m) => m.envelope.id === body.id);
    expect(message.key).toBe(body.subscriptionId);
    expect(message.envelope).toMatchObject({
      type: "limio.order.submitted",
      version: 1,
      source: "shop",
      correlationId: "corr-new-1",
      data: {
        orderId: body.id,
        subscriptionId: body.subscriptionId,
        source: "shop",
        order: {
          order_type: "new",
          id: body.id,
          order_reference: body.order_reference,
          sub_reference: body.subscriptionReference,
          external_id: order.external_id,
        },
      },
    });
    expect(message.headers["x-message-type"]).toBe("limio.order.submitted");
  });

  it("resolves a non-new order's subscription in the store and keys the message by it", async () => {
    const sub = await seedSubscription(gw.store);
    const order = {
      ...fixture("cancel_subscription"),
      subscriptionId: sub.id,
      external_id: `C-${randomUUID()}`,
    };
    const response = await post(order);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({
      status: "queued",
      subscriptionId: sub.id,
      subscriptionReference: sub.reference,
    });
    const message = await orders.find((m) => m.envelope.id === response.json().id);
    expect(message.key).toBe(sub.id);
    expect(message.envelope.data).toMatchObject({
      subscriptionId: sub.id,
      order: { order_type: "cancel_subscription" },
    });
  });

  it("answers 404 for an unknown Limio subscription and publishes nothing", async () => {
    const before = await topicMessageCount(gw.client, gw.topics.orders);
    const response = await post({
      ...fixture("change_address"),
      forSubscription: { id: "sub-ffffffffffffffffffffffffffffffff" },
    });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: { code: "subscription_not_found", message: expect.any(String) },
    });
    expect(await topicMessageCount(gw.client, gw.topics.orders)).toBe(before);
  });

  it("refuses commerce actions on a subscription imported from Stripe (409) and publishes nothing", async () => {
    const sub = await seedSubscription(gw.store, { origin: "external" });
    const before = await topicMessageCount(gw.client, gw.topics.orders);
    const response = await post({
      ...fixture("cancel_subscription"),
      subscriptionId: sub.id,
      external_id: `X-${randomUUID()}`,
    });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ error: { code: "subscription_external" } });
    expect(await topicMessageCount(gw.client, gw.topics.orders)).toBe(before);
  });

  it("is idempotent on Idempotency-Key: the same ids and answer, the same message id again", async () => {
    const key = `idem-${randomUUID()}`;
    const order = { ...fixture("new") };
    delete order.external_id;
    const first = await post(order, { "idempotency-key": key });
    const second = await post(order, { "idempotency-key": key });
    expect(first.statusCode).toBe(202);
    expect(second.statusCode).toBe(202);
    expect(second.json()).toEqual(first.json());
    expect(first.json().id).toBe(
      deriveOrderIds("shop", orderIdentity({ idempotencyKey: key, source: "shop" })).orderId,
    );
    await until(() => orders.messages.filter((m) => m.envelope.id === first.json().id).length === 2);
    // Without a key nor an external_id every submission is a new order.
    const a = await post(order);
    const b = await post(order);
    expect(a.json().id).not.toBe(b.json().id);
  });

  it("is idempotent on source + external_id; a different API key gets a different order", async () => {
    const order = { ...fixture("new"), external_id: `EXT-${randomUUID()}` };
    const first = await post(order);
    const again = await post({ ...order, process_immediately: false });
    expect(again.json().id).toBe(first.json().id);
    const otherClient = await gw.app.inject({
      method: "POST",
      url: "/api/orders",
      headers: bearer(keys.all),
      payload: order,
    });
    expect(otherClient.statusCode).toBe(202);
    expect(otherClient.json().id).not.toBe(first.json().id);
  });

  it("answers from the store once the writer recorded the order, without publishing again; 409 on a different payload", async () => {
    const order = { ...fixture("new"), external_id: `EXT-${randomUUID()}` };
    const first = await submitAndRecordApplied(order);
    const before = await topicMessageCount(gw.client, gw.topics.orders);
    const replay = await post(order);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toEqual({ ...first.json(), status: "applied" });

    const conflict = await post({ ...order, country: "FR" });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe("idempotency_conflict");
    expect(await topicMessageCount(gw.client, gw.topics.orders)).toBe(before);
  });

  it("answers concurrent duplicates each by its own identity when their look-ups share a query", async () => {
    // One order the writer recorded, one it has not seen yet: submitted all at once, interleaved.
    const recorded = { ...fixture("new"), external_id: `EXT-${randomUUID()}` };
    const first = await submitAndRecordApplied(recorded);
    const unseen = { ...fixture("new"), external_id: `EXT-${randomUUID()}` };
    const before = await topicMessageCount(gw.client, gw.topics.orders);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => [
        post(recorded),
        post({ ...recorded, country: "FR" }),
        post(unseen),
      ]).flat(),
    );
    const of = (i: number) => answers.filter((_, j) => j % 3 === i);
    for (const replay of of(0)) expect(replay.json()).toEqual({ ...first.json(), status: "applied" });
    for (const conflict of of(1)) expect(conflict.json().error.code).toBe("idempotency_conflict");
    const queued = of(2);
    expect(new Set(queued.map((r) => r.statusCode))).toEqual(new Set([202]));
    expect(new Set(queued.map((r) => r.json().id)).size).toBe(1);
    // Only the unseen order was published (ten times, one message id): the writer dedups it.
    await until(() => orders.messages.filter((m) => m.envelope.id === queued[0]!.json().id).length === 10);
    expect(await topicMessageCount(gw.client, gw.topics.orders)).toBe(before + 10);
  });

  it("process_immediately waits for the order's outcome: applied with the client secret, failed with the reason", async () => {
    const order = { ...fixture("new"), external_id: `EXT-${randomUUID()}`, process_immediately: true };
    const pending = post(order);
    const message = await orders.find(
      (m) => (m.envelope.data as { order: { external_id?: string } }).order.external_id === order.external_id,
    );
    const data = message.envelope.data as { orderId: string; subscriptionId: string };
    // The sync-consumer applied the sync the writer requested for the order: Limio shows it.
    await gw.store.db.inboxMessage.create({
      data: { consumer: SYNC_INBOX, messageId: `${data.orderId}:outcome` },
    });
    await publishNewOrderApplied(data, {
      clientSecret: { type: "invoice_confirmation_secret", value: "pi_secret_test" },
    });
    const response = await pending;
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id: data.orderId,
      status: "applied",
      limioSync: "synced",
      clientSecret: { type: "invoice_confirmation_secret", value: "pi_secret_test" },
    });

    const sub = await seedSubscription(gw.store);
    const cancel = {
      ...fixture("cancel_subscription"),
      subscriptionId: sub.id,
      external_id: `C-${randomUUID()}`,
      process_immediately: true,
    };
    const pendingCancel = post(cancel);
    const cancelMessage = await orders.find((m) => m.key === sub.id);
    await publishOutcome({
      orderId: cancelMessage.envelope.id,
      subscriptionId: sub.id,
      orderType: "cancel_subscription",
      status: "failed",
      action: "none",
      error: { code: "stripe_error", message: "No such subscription" },
    });
    const failed = await pendingCancel;
    expect(failed.statusCode).toBe(200);
    expect(failed.json()).toMatchObject({
      status: "failed",
      reason: { code: "stripe_error", message: "No such subscription" },
    });
  });
});

describe("POST /api/order with Limio's own ids (issue 13)", () => {
  const hex = () => randomUUID().replaceAll("-", "");
  const limioIds = () => ({
    id: `order-${hex()}`,
    order_reference: generateLimioReference(),
    sub_reference: generateLimioReference(),
    owner: `id-${hex()}`,
  });
  const postTo = (url: string, payload: object) =>
    gw.app.inject({ method: "POST", url, headers: bearer(keys.shop), payload });

  it("answers, publishes and shows through GET the order's own id, references and owner", async () => {
    const ids = limioIds();
    const order = { ...fixture("new"), ...ids, external_id: `EXT-${randomUUID()}` };
    const response = await postTo("/api/order", order);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({
      id: ids.id,
      order_reference: ids.order_reference,
      status: "queued",
      external_id: order.external_id,
      subscriptionId: expect.stringMatching(/^sub-[0-9a-f]{32}$/),
      subscriptionReference: ids.sub_reference,
      owner: ids.owner,
    });
    const message = await orders.find((m) => m.envelope.id === ids.id);
    const data = message.envelope.data as { subscriptionId: string; order: Record<string, unknown> };
    expect(data.order).toMatchObject(ids);
    // The alias is the same route: the same order again, the same answer.
    expect((await postTo("/api/orders", order)).json()).toEqual(response.json());

    // What the writer records (the order as published); GET shows the same ids under both paths.
    await recordOrder(gw.store.db, {
      id: ids.id,
      reference: data.order.order_reference as string,
      type: "new",
      source: "shop",
      externalId: order.external_id,
      subscriptionId: data.subscriptionId,
      status: "processing",
      payload: data.order,
    });
    for (const path of [`/api/order/${ids.id}`, `/api/orders/${ids.id}`]) {
      const view = await gw.app.inject({ method: "GET", url: path, headers: bearer(keys.all) });
      expect(view.statusCode, path).toBe(200);
      expect(view.json()).toMatchObject({
        id: ids.id,
        order_reference: ids.order_reference,
        subscriptionReference: ids.sub_reference,
        owner: ids.owner,
      });
    }

    // Resubmitted once recorded: the same order (its references are not taken by itself).
    const again = await postTo("/api/order", order);
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ ...response.json(), status: "processing" });

    // Another order naming a reference the store already holds: 409 naming the field, nothing published.
    const before = await topicMessageCount(gw.client, gw.topics.orders);
    const taken = await postTo("/api/order", {
      ...fixture("new"),
      ...limioIds(),
      order_reference: ids.order_reference,
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error).toMatchObject({
      code: "reference_taken",
      details: [{ path: "order_reference" }],
    });
    expect(await topicMessageCount(gw.client, gw.topics.orders)).toBe(before);
  });

  it("refuses a new order whose sub_reference is another subscription's, and groups concurrent orders' reads", async () => {
    const sub = await seedSubscription(gw.store);
    const before = await topicMessageCount(gw.client, gw.topics.orders);
    // Sent together, so their store reads share queries (submission-reads.ts): each still gets its own answer.
    const [taken, free] = await Promise.all([
      postTo("/api/order", { ...fixture("new"), ...limioIds(), sub_reference: sub.reference }),
      postTo("/api/order", { ...fixture("new"), ...limioIds(), external_id: `EXT-${randomUUID()}` }),
    ]);
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error).toMatchObject({
      code: "reference_taken",
      details: [{ path: "sub_reference" }],
    });
    expect(free.statusCode).toBe(202);
    expect(await topicMessageCount(gw.client, gw.topics.orders)).toBe(before + 1);
  });

  it("refuses a new order carrying an existing subscription's id (409 subscription_exists naming the field), not its own resubmission", async () => {
    const sub = await seedSubscription(gw.store);
    const before = await topicMessageCount(gw.client, gw.topics.orders);
    const bySubscriptionId = await postTo("/api/order", {
      ...fixture("new"),
      ...limioIds(),
      subscriptionId: sub.id,
    });
    expect(bySubscriptionId.statusCode).toBe(409);
    expect(bySubscriptionId.json().error).toMatchObject({
      code: "subscription_exists",
      details: [{ path: "subscriptionId", message: expect.stringContaining(sub.id) }],
    });
    const byForSubscription = await postTo("/api/order", {
      ...fixture("new"),
      ...limioIds(),
      forSubscription: { id: sub.id },
    });
    expect(byForSubscription.statusCode).toBe(409);
    expect(byForSubscription.json().error).toMatchObject({
      code: "subscription_exists",
      details: [{ path: "forSubscription.id" }],
    });
    expect(await topicMessageCount(gw.client, gw.topics.orders)).toBe(before);

    // The order that created the subscription, resubmitted once the sync applied it: the same order.
    const subscriptionId = `sub-${hex()}`;
    const ids = limioIds();
    const order = { ...fixture("new"), ...ids, subscriptionId, external_id: `EXT-${randomUUID()}` };
    const first = await postTo("/api/order", order);
    expect(first.statusCode).toBe(202);
    expect(first.json().subscriptionId).toBe(subscriptionId);
    const published = await orders.find((m) => m.envelope.id === ids.id);
    await recordOrder(gw.store.db, {
      id: ids.id,
      reference: ids.order_reference,
      type: "new",
      source: "shop",
      externalId: order.external_id,
      subscriptionId,
      status: "applied",
      payload: (published.envelope.data as { order: object }).order,
    });
    await seedSubscription(gw.store, { id: subscriptionId, reference: ids.sub_reference });
    const again = await postTo("/api/order", order);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: ids.id, status: "applied", subscriptionId });
  });

  it("refuses malformed ids by name, and a sub_reference that is not the target subscription's", async () => {
    const bad = await postTo("/api/order", {
      ...fixture("new"),
      order_reference: "8hk92pl401qw",
      owner: "nobody",
    });
    expect(bad.statusCode).toBe(400);
    expect(
      bad
        .json()
        .error.details.map((d: { path: string }) => d.path)
        .sort(),
    ).toEqual(["order_reference", "owner"]);

    const sub = await seedSubscription(gw.store);
    const wrong = await postTo("/api/order", {
      ...fixture("cancel_subscription"),
      subscriptionId: sub.id,
      sub_reference: generateLimioReference(),
      external_id: `C-${randomUUID()}`,
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.details).toEqual([
      { path: "sub_reference", message: expect.stringContaining(sub.reference) },
    ]);
    const right = await postTo("/api/order", {
      ...fixture("cancel_subscription"),
      subscriptionId: sub.id,
      sub_reference: sub.reference,
      external_id: `C-${randomUUID()}`,
    });
    expect(right.statusCode).toBe(202);
    expect(right.json().subscriptionReference).toBe(sub.reference);
  });
});

describe("POST /api/orders, process_immediately while the sync-consumer is down", () => {
  it("answers applied (Stripe holds the final state) with limioSync pending, after waiting for the sync", async () => {
    const order = { ...fixture("new"), external_id: `EXT-${randomUUID()}`, process_immediately: true };
    const started = Date.now();
    const pending = post(order);
    const message = await orders.find((m) => m.envelope.id === deriveIds(order.external_id).orderId);
    const data = message.envelope.data as { orderId: string; subscriptionId: string };
    await publishNewOrderApplied(data);
    const response = await pending;
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: data.orderId, status: "applied", limioSync: "pending" });
    // It waited for the sync within WAIT_TIMEOUT_MS (3 s in these tests) before saying so.
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    const subscription = await gw.app.inject({
      method: "GET",
      url: `/api/subscriptions/${data.subscriptionId}`,
      headers: bearer(keys.all),
    });
    expect(subscription.statusCode).toBe(404);
  });
});

const deriveIds = (externalId: string) =>
  deriveOrderIds("shop", orderIdentity({ source: "shop", externalId }));

describe("POST /api/orders, bounded waits", () => {
  it("answers 202 queued when no outcome comes within WAIT_TIMEOUT_MS", async () => {
    const quick = await startTestGateway({ topics: gw.topics, config: { WAIT_TIMEOUT_MS: "300" } });
    try {
      const order = { ...fixture("new"), external_id: `EXT-${randomUUID()}`, process_immediately: true };
      const started = Date.now();
      const response = await quick.app.inject({
        method: "POST",
        url: "/api/orders",
        headers: bearer(keys.shop),
        payload: order,
      });
      expect(response.statusCode).toBe(202);
      expect(response.json().status).toBe("queued");
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(Date.now() - started).toBeLessThan(3_000);
      await orders.find((m) => m.envelope.id === response.json().id);
    } finally {
      await quick.close();
    }
  });

  it("without an outcome consumer, waits for the store's Order row to turn final and answers with it", async () => {
    const polling = await startTestGateway({ topics: gw.topics, config: { WAIT_TIMEOUT_MS: "15000" } });
    try {
      const order = { ...fixture("new"), external_id: `EXT-${randomUUID()}`, process_immediately: true };
      const ids = deriveOrderIds("shop", orderIdentity({ source: "shop", externalId: order.external_id }));
      const pending = polling.app.inject({
        method: "POST",
        url: "/api/orders",
        headers: bearer(keys.shop),
        payload: order,
      });
      const message = await orders.find((m) => m.envelope.id === ids.orderId);
      const data = message.envelope.data as { subscriptionId: string; order: unknown };
      await recordOrder(polling.store.db, {
        id: ids.orderId,
        reference: ids.orderReference,
        type: "new",
        source: "shop",
        externalId: order.external_id,
        subscriptionId: data.subscriptionId,
        status: "queued",
        payload: data.order,
      });
      await polling.store.db.order.update({
        where: { id: ids.orderId },
        data: {
          status: "failed",
          outcome: { status: "failed", error: { code: "card_declined", message: "Your card was declined." } },
        },
      });
      const answer = await pending;
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject({
        id: ids.orderId,
        order_reference: ids.orderReference,
        status: "failed",
        reason: { code: "card_declined", message: "Your card was declined." },
      });
    } finally {
      await polling.close();
    }
  });
});

describe("POST /api/orders with the broker unavailable", () => {
  it("answers 503 with Retry-After within the publish timeout, never 2xx", async () => {
    const down = await startTestGateway({
      topics: gw.topics,
      brokers: ["127.0.0.1:1"],
      config: { KAFKA_PUBLISH_TIMEOUT_MS: "1000", RETRY_AFTER_SECONDS: "7" },
    });
    try {
      const started = Date.now();
      const response = await down.app.inject({
        method: "POST",
        url: "/api/orders",
        headers: bearer(keys.shop),
        payload: { ...fixture("new"), external_id: `EXT-${randomUUID()}` },
      });
      const elapsed = Date.now() - started;
      expect(response.statusCode).toBe(503);
      expect(response.headers["retry-after"]).toBe("7");
      expect(response.json().error.code).toBe("broker_unavailable");
      expect(elapsed).toBeLessThan(3_000);
      const metrics = await down.metrics.render();
      expect(metrics).toMatch(/gateway_kafka_publish_duration_seconds_count\{[^}]*result="error"[^}]*\} 1/);
      // Posted to the alias, counted under the one route it rewrites to.
      expect(metrics).toMatch(
        /gateway_http_requests_total\{route="\/api\/order",method="POST",status="503"[^}]*\} 1/,
      );
    } finally {
      await down.close();
    }
  });
});

describe("POST /api/orders with a store too slow to answer", () => {
  it("answers 503 store_unavailable with Retry-After once a read exceeds DATABASE_STATEMENT_TIMEOUT_MS", async () => {
    const databaseUrl = await freshDatabase("gateway_slow_store");
    const slow = await startTestGateway({
      topics: gw.topics,
      databaseUrl,
      config: { DATABASE_STATEMENT_TIMEOUT_MS: "300", RETRY_AFTER_SECONDS: "7" },
    });
    // Another session holds the tables a submission reads: its reads wait on the locks.
    const locker = createStore(databaseUrl, { poolSize: 1 });
    let release = () => {};
    let locked = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holding = locker.transaction(async (tx) => {
      await sqlOf(tx)('LOCK TABLE "Order", "Subscription", "Offer", "OfferVersion" IN ACCESS EXCLUSIVE MODE');
      locked();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    try {
      await isLocked;
      const started = Date.now();
      const response = await slow.app.inject({
        method: "POST",
        url: "/api/orders",
        headers: bearer(keys.shop),
        payload: { ...fixture("new"), external_id: `EXT-${randomUUID()}` },
      });
      expect(response.statusCode).toBe(503);
      expect(response.headers["retry-after"]).toBe("7");
      expect(response.json().error.code).toBe("store_unavailable");
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      release();
      await holding;
      await locker.close();
      await slow.close();
    }
  });
});
