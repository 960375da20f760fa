import { createLogger } from "@bridge/observability";
import { describe, expect, it } from "vitest";
import type { KafkaClient } from "./kafka-client.ts";
import { createKafkaProducer } from "./producer.ts";

/** A kafkajs stand-in recording which producer instance each send went through. */
function fakeKafka(failFirstSends: number) {
  const producers: { id: number; sends: number; disconnected: boolean }[] = [];
  let failuresLeft = failFirstSends;
  const kafka = {
    producer: () => {
      const record = { id: producers.length + 1, sends: 0, disconnected: false };
      producers.push(record);
      return {
        events: { CONNECT: "connect", DISCONNECT: "disconnect" },
        on: () => {},
        connect: async () => {},
        disconnect: async () => {
          record.disconnected = true;
        },
        send: async ({ topic }: { topic: string }) => {
          record.sends += 1;
          if (failuresLeft > 0) {
            failuresLeft -= 1;
            throw Object.assign(new Error("Request timed out"), { retriable: true });
          }
          return [{ topicName: topic, partition: 0, errorCode: 0, baseOffset: "7" }];
        },
      };
    },
  };
  const client = {
    kafka,
    logger: createLogger("producer-test", { level: "silent" }),
    clientId: "t",
  } as unknown as KafkaClient;
  return { client, producers };
}

const message = { key: "k", value: "v", headers: {} };

describe("producer generations", () => {
  it("discards the kafkajs producer after a failed send, so no sequence number is reused", async () => {
    const { client, producers } = fakeKafka(1);
    const producer = createKafkaProducer(client);
    await expect(producer.sendRaw("t", [message])).rejects.toThrow("timed out");
    await producer.sendRaw("t", [message]);
    expect(producers.map((p) => ({ id: p.id, sends: p.sends, disconnected: p.disconnected }))).toEqual([
      { id: 1, sends: 1, disconnected: true },
      { id: 2, sends: 1, disconnected: false },
    ]);
  });

  it("starts one new producer however many concurrent sends of the old one fail", async () => {
    const { client, producers } = fakeKafka(3);
    const producer = createKafkaProducer(client);
    const results = await Promise.allSettled([1, 2, 3].map(() => producer.sendRaw("t", [message])));
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect(producers).toHaveLength(2);
    await producer.sendRaw("t", [message]);
    expect(producers[1]?.sends).toBe(1);
  });

  it("keeps the same producer while sends succeed", async () => {
    const { client, producers } = fakeKafka(0);
    const producer = createKafkaProducer(client);
    for (let i = 0; i < 3; i += 1) await producer.sendRaw("t", [message]);
    expect(producers).toHaveLength(1);
    expect(producers[0]?.sends).toBe(3);
  });
});
