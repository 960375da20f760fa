import type { Envelope } from "@bridge/domain";
import { envelopeHeaders } from "@bridge/domain";
import { uniqueName } from "@bridge/local-infra/testing";
import { createLogger } from "@bridge/observability";
import { afterAll, describe, expect, it } from "vitest";
import { envelope, freshTopicWithCompanions, testClient, until } from "../test/support.ts";
import { type MessageContext, type RunningConsumer, startConsumer } from "./consumer.ts";
import { InvalidEnvelopeError, PublishTimeoutError } from "./errors.ts";
import { createKafkaClient } from "./kafka-client.ts";
import { createProducer, encodeMessage, MessageTooLargeError } from "./producer.ts";

const client = testClient("producer-test");
const producer = createProducer(client);
const consumers: RunningConsumer[] = [];

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  await producer.disconnect();
});

describe("producer → consumer round trip", () => {
  it("delivers the envelope, its mirrored headers, extra headers and the key intact", async () => {
    const topic = await freshTopicWithCompanions(client, "roundtrip", 3);
    expect(producer.isConnected()).toBe(false);
    await producer.connect();
    expect(producer.isConnected()).toBe(true);

    const sent = envelope({ amount: 1234, nested: { ok: true } }, { causationId: "cause-1" });
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const receipt = await producer.publish(topic, {
      key: "sub-abc",
      envelope: sent,
      headers: { traceparent },
    });
    expect(receipt.topic).toBe(topic);
    expect(Number(receipt.offset)).toBeGreaterThanOrEqual(0);

    const received: { envelope: Envelope; ctx: MessageContext }[] = [];
    consumers.push(
      await startConsumer(client, {
        groupId: uniqueName("roundtrip"),
        topics: [topic],
        handler: async (e, ctx) => {
          received.push({ envelope: e, ctx });
        },
      }),
    );
    await until(() => received.length === 1, 20_000, "the message");
    const [got] = received;
    expect(got?.envelope).toEqual(sent);
    expect(got?.ctx.key).toBe("sub-abc");
    expect(got?.ctx.partition).toBe(receipt.partition);
    expect(got?.ctx.offset).toBe(receipt.offset);
    expect(got?.ctx.headers).toMatchObject({
      [envelopeHeaders.messageId]: sent.id,
      [envelopeHeaders.type]: sent.type,
      [envelopeHeaders.correlationId]: sent.correlationId,
      [envelopeHeaders.causationId]: "cause-1",
      traceparent,
    });
  });

  it("publishBatch sends every message, acknowledged, keys kept", async () => {
    const topic = await freshTopicWithCompanions(client, "batch", 2);
    const batch = ["a", "b", "c", "d"].map((k) => ({ key: `sub-${k}`, envelope: envelope({ k }) }));
    const receipts = await producer.publishBatch(topic, batch);
    expect(receipts.length).toBeGreaterThan(0);
    const seen = new Map<string, string | null>();
    consumers.push(
      await startConsumer(client, {
        groupId: uniqueName("batch"),
        topics: [topic],
        handler: async (e, ctx) => {
          seen.set(e.id, ctx.key);
        },
      }),
    );
    await until(() => seen.size === 4, 20_000, "4 messages");
    for (const m of batch) expect(seen.get(m.envelope.id)).toBe(m.key);
  });

  it("refuses an invalid envelope before sending anything", async () => {
    const bad = { ...envelope({}), occurredAt: "yesterday" };
    await expect(producer.publish("never-created-topic", { key: "k", envelope: bad })).rejects.toBeInstanceOf(
      InvalidEnvelopeError,
    );
  });
});

describe("messages the broker would refuse", () => {
  /** Messages ever written to the topic (its one partition's high watermark). */
  const highWatermark = async (topic: string) => {
    const admin = client.kafka.admin();
    await admin.connect();
    const [partition] = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
    return Number(partition?.high ?? 0);
  };

  it("refuses, before sending, a message or a batch larger than maxMessageBytes; smaller batches go through", async () => {
    const topic = await freshTopicWithCompanions(client, "too-large", 1);
    const limited = createProducer(client, { maxMessageBytes: 10_000 });
    const sized = (k: string) => ({ key: k, envelope: envelope({ blob: "x".repeat(3_000) }) });
    await expect(
      limited.publish(topic, { key: "k", envelope: envelope({ blob: "x".repeat(10_000) }) }),
    ).rejects.toBeInstanceOf(MessageTooLargeError);
    await expect(limited.publishBatch(topic, ["a", "b", "c", "d"].map(sized))).rejects.toBeInstanceOf(
      MessageTooLargeError,
    );
    expect(await highWatermark(topic)).toBe(0);
    await limited.publishBatch(topic, ["a", "b"].map(sized));
    expect(await highWatermark(topic)).toBe(2);
    await limited.disconnect();
  });

  it("measures a message as it goes on the wire, and refuses one nested too deep to encode", () => {
    const encoded = encodeMessage({ key: "sub-é", envelope: envelope({ name: "Zoë" }) });
    let expected = Buffer.byteLength("sub-é") + Buffer.byteLength(encoded.value);
    for (const [name, value] of Object.entries(encoded.headers)) expected += Buffer.byteLength(name + value);
    expect(encoded.bytes).toBe(expected);

    let deep: unknown = {};
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(() => encodeMessage({ key: "k", envelope: envelope(deep) })).toThrow(InvalidEnvelopeError);
  });
});

describe("publish against a broker that is down", () => {
  it("rejects within the configured bound instead of hanging", async () => {
    const dead = createKafkaClient({
      brokers: ["127.0.0.1:1"], // nothing listens there
      clientId: "dead-broker-test",
      logger: createLogger("dead-broker-test", { level: "silent" }),
    });
    const p = createProducer(dead, { publishTimeoutMs: 1_500 });
    const started = Date.now();
    await expect(p.publish("limio.orders.v1", { key: "k", envelope: envelope({}) })).rejects.toBeInstanceOf(
      PublishTimeoutError,
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(elapsed).toBeLessThan(3_000);
    expect(p.isConnected()).toBe(false);
    await p.disconnect().catch(() => {});
  });
});
