import { SYNC_INBOX } from "@bridge/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bearer,
  keys,
  seedSubscription,
  startTestGateway,
  startTopicReader,
  type TestGateway,
  topicMessageCount,
} from "../../../test/support.ts";

let gw: TestGateway;
let syncs: Awaited<ReturnType<typeof startTopicReader>>;

beforeAll(async () => {
  gw = await startTestGateway({ config: { WAIT_TIMEOUT_MS: "10000" } });
  syncs = await startTopicReader(gw.client, gw.topics.sync);
}, 120_000);

afterAll(async () => {
  await syncs?.stop();
  await gw?.close();
});

const sync = (id: string, key = keys.ops, app = gw.app) =>
  app.inject({ method: "POST", url: `/api/plugins/stripe/sync/subscription/${id}`, headers: bearer(key) });

describe("POST /api/plugins/stripe/sync/subscription/{id}", () => {
  it("publishes limio.sync.requested (reason api) and answers like Limio once the sync-consumer applied it", async () => {
    const sub = await seedSubscription(gw.store);
    const pending = sync(sub.id);
    const message = await syncs.find((m) => m.key === sub.id);
    expect(message.envelope).toMatchObject({
      type: "limio.sync.requested",
      version: 1,
      data: { subscriptionId: sub.id, reason: "api", requestId: message.envelope.id },
    });
    // The sync-consumer records its inbox row in the transaction that applies the sync.
    await gw.store.db.inboxMessage.create({
      data: { consumer: SYNC_INBOX, messageId: message.envelope.id },
    });
    const response = await pending;
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ success: true, id: sub.id });
  });

  it("answers 202 with status queued when the sync does not finish within WAIT_TIMEOUT_MS", async () => {
    const quick = await startTestGateway({ topics: gw.topics, config: { WAIT_TIMEOUT_MS: "300" } });
    try {
      const sub = await seedSubscription(quick.store);
      const started = Date.now();
      const response = await sync(sub.id, keys.ops, quick.app);
      expect(response.statusCode).toBe(202);
      expect(response.json()).toEqual({ success: true, id: sub.id, status: "queued" });
      expect(Date.now() - started).toBeLessThan(3_000);
      await syncs.find((m) => m.key === sub.id);
    } finally {
      await quick.close();
    }
  });

  it("answers 404 for an unknown Limio subscription, 400 for a malformed id, 401/403 without the sync scope; nothing published", async () => {
    const before = await topicMessageCount(gw.client, gw.topics.sync);
    const unknown = await sync("sub-ffffffffffffffffffffffffffffffff");
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({
      error: { code: "subscription_not_found", message: expect.any(String) },
    });
    const malformed = await sync("sub_123");
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe("validation_error");
    const sub = await seedSubscription(gw.store);
    expect((await sync(sub.id, keys.shop)).statusCode).toBe(403);
    const anonymous = await gw.app.inject({
      method: "POST",
      url: `/api/plugins/stripe/sync/subscription/${sub.id}`,
    });
    expect(anonymous.statusCode).toBe(401);
    expect(await topicMessageCount(gw.client, gw.topics.sync)).toBe(before);
  });

  it("answers 503 with Retry-After when the broker is unavailable", async () => {
    const down = await startTestGateway({
      topics: gw.topics,
      brokers: ["127.0.0.1:1"],
      config: { KAFKA_PUBLISH_TIMEOUT_MS: "800" },
    });
    try {
      const sub = await seedSubscription(down.store);
      const response = await sync(sub.id, keys.ops, down.app);
      expect(response.statusCode).toBe(503);
      expect(response.headers["retry-after"]).toBeDefined();
      expect(response.json().error.code).toBe("broker_unavailable");
    } finally {
      await down.close();
    }
  });
});
