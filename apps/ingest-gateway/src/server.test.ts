import { freshDatabase, kafkaBrokers, uniqueName } from "@bridge/local-infra/testing";
import { createLogger } from "@bridge/observability";
import { createStore, type Store, SYNC_INBOX } from "@bridge/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keys, seedSubscription, startTopicReader, testClient, testConfig } from "../test/support.ts";
import { type RunningGateway, startGateway } from "./server.ts";

let store: Store;
let gateway: RunningGateway;
const topics = {
  orders: uniqueName("srv-orders"),
  stripeEvents: uniqueName("srv-events"),
  sync: uniqueName("srv-sync"),
  orderOutcomes: uniqueName("srv-outcomes"),
};

beforeAll(async () => {
  const databaseUrl = await freshDatabase("gateway_server");
  store = createStore(databaseUrl);
  gateway = await startGateway(
    testConfig({
      KAFKA_BROKERS: kafkaBrokers().join(","),
      DATABASE_URL: databaseUrl,
      PORT: "0",
      HOST: "127.0.0.1",
      WAIT_TIMEOUT_MS: "15000",
      KAFKA_TOPIC_PARTITIONS: "2",
    }),
    { logger: createLogger("gateway-server-test", { level: "silent" }), topics },
  );
}, 120_000);

afterAll(async () => {
  await gateway?.shutdown();
  await store?.close();
});

describe("the gateway process", () => {
  it("creates its topics at boot, is ready, and on shutdown finishes in-flight requests before closing", async () => {
    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { kafka: true, database: true } });

    const client = testClient("gateway-server-reader");
    const reader = await startTopicReader(client, topics.sync);
    try {
      const sub = await seedSubscription(store);
      const inFlight = fetch(`${gateway.url}/api/plugins/stripe/sync/subscription/${sub.id}`, {
        method: "POST",
        headers: { authorization: `Bearer ${keys.ops}` },
      });
      const message = await reader.find((m) => m.key === sub.id);
      // The request now waits for the sync-consumer; shut down meanwhile.
      let stopped = false;
      const stopping = gateway.shutdown().then(() => {
        stopped = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(stopped).toBe(false);
      await store.db.inboxMessage.create({
        data: { consumer: SYNC_INBOX, messageId: message.envelope.id },
      });
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ success: true, id: sub.id });
      const started = Date.now();
      await stopping;
      expect(Date.now() - started).toBeLessThan(10_000);
      await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();
    } finally {
      await reader.stop();
    }
  });
});
