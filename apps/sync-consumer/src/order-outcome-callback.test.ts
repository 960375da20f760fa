// The optional order-outcome callback on real Kafka and Postgres: a receiver that fails its first
// attempts still gets each outcome exactly once, and every request's signature verifies.
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import {
  callbackSignatureHeader,
  type Envelope,
  messageTypes,
  verifyCallbackSignature,
} from "@bridge/domain";
import { freshDatabase, kafkaBrokers, uniqueName } from "@bridge/local-infra/testing";
import {
  createKafkaClient,
  createProducer,
  ensureTopics,
  type MessageProducer,
  type RunningConsumer,
  topicWithCompanions,
} from "@bridge/messaging";
import { createStore, type Store } from "@bridge/store";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logger, until } from "../test/harness.ts";
import { startOrderOutcomeCallback } from "./order-outcome-callback.ts";

const secret = `cb_${randomUUID()}`;
const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueName("callback-test"), logger });
const topic = uniqueName("callback-outcomes");
/** Every request the receiver got: envelope id, whether it answered 2xx, whether it verified. */
const requests: { id: string; ok: boolean; verified: boolean; tamperedVerified: boolean }[] = [];
/** Attempts the receiver fails per envelope id before it accepts. */
const failFirst = new Map<string, number>();
let server: Server;
let store: Store;
let producer: MessageProducer;
let callback: RunningConsumer;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const header = String(req.headers[callbackSignatureHeader.toLowerCase()] ?? "");
      const now = Math.floor(Date.now() / 1000);
      const id = (JSON.parse(body) as Envelope).id;
      const failuresLeft = failFirst.get(id) ?? 0;
      failFirst.set(id, failuresLeft - 1);
      requests.push({
        id,
        ok: failuresLeft <= 0,
        verified: verifyCallbackSignature(secret, body, header, { now }),
        tamperedVerified: verifyCallbackSignature(secret, body.replace("applied", "failed"), header, { now }),
      });
      res.writeHead(failuresLeft > 0 ? 503 : 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  store = createStore(await freshDatabase("callback"), { poolSize: 3 });
  await ensureTopics(kafka, topicWithCompanions(topic, { partitions: 2 }));
  producer = createProducer(kafka);
  await producer.connect();
  callback = await startOrderOutcomeCallback({
    kafka,
    store,
    logger,
    registry: new Registry(),
    topic,
    url: `http://127.0.0.1:${port}/limio/outcomes`,
    secret,
    groupId: uniqueName("callback"),
    retry: { baseDelayMs: 50, maxDelayMs: 200 },
  });
});
afterAll(async () => {
  await callback?.stop();
  await producer?.disconnect();
  await store?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

const hex = () => randomUUID().replaceAll("-", "");
const subscriptionId = `sub-${hex()}`;

function outcome(id = randomUUID()): Envelope {
  return {
    id,
    type: messageTypes.orderOutcome,
    version: 1,
    occurredAt: new Date().toISOString(),
    source: "stripe-writer",
    correlationId: randomUUID(),
    data: {
      orderId: `order-${hex()}`,
      subscriptionId,
      orderType: "cancel_subscription",
      status: "applied",
      action: "cancel_scheduled",
      stripe: {},
      completedAt: new Date().toISOString(),
    },
  };
}

const delivered = (id: string) => requests.filter((r) => r.id === id && r.ok).length;

describe("the order-outcome callback", () => {
  it("is delivered once per outcome although the receiver fails its first attempts, also when Kafka redelivers; signed", async () => {
    const first = outcome();
    failFirst.set(first.id, 3);
    await producer.publish(topic, { key: subscriptionId, envelope: first });
    // The same message again (at-least-once Kafka), then a later outcome of the same subscription:
    // once that one is delivered, everything before it on the partition has been handled.
    await producer.publish(topic, { key: subscriptionId, envelope: first });
    const later = outcome();
    await producer.publish(topic, { key: subscriptionId, envelope: later });
    await until(() => delivered(later.id) === 1, 30_000, "the later outcome delivered");

    expect(requests.filter((r) => r.id === first.id).map((r) => r.ok)).toEqual([false, false, false, true]);
    expect(delivered(first.id)).toBe(1);
    expect(delivered(later.id)).toBe(1);
    expect(requests.every((r) => r.verified)).toBe(true);
    expect(requests.some((r) => r.tamperedVerified)).toBe(false);
  });
});
