import {
  type EncodedMessage,
  InvalidEnvelopeError,
  type MessageProducer,
  MessageTooLargeError,
  type OutgoingMessage,
} from "@bridge/messaging";
import { describe, expect, it } from "vitest";
import { createBatchingPublisher } from "./batching-publisher.ts";

/** A producer whose sends complete when the test says so. */
function controlledProducer() {
  const sends: { topic: string; ids: string[]; bytes: number; settle: (error?: Error) => void }[] = [];
  const producer = {
    connect: async () => {},
    disconnect: async () => {},
    isConnected: () => true,
    publishEncoded: (topic: string, messages: EncodedMessage[]) =>
      new Promise<never[]>((resolve, reject) => {
        sends.push({
          topic,
          ids: messages.map((m) => (JSON.parse(m.value) as { id: string }).id),
          bytes: messages.reduce((sum, m) => sum + m.bytes, 0),
          settle: (error) => (error ? reject(error) : resolve([])),
        });
      }),
  } as unknown as MessageProducer;
  return { producer, sends };
}

const message = (id: string, data: unknown = {}): OutgoingMessage<unknown> => ({
  key: "k",
  envelope: {
    id,
    type: "t",
    version: 1,
    occurredAt: new Date().toISOString(),
    source: "s",
    correlationId: "c",
    data,
  },
});

/** An object nested `depth` levels deep: the 10,000-deep body of issue 16. */
const nested = (depth: number) => {
  let value: unknown = {};
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};

const settled = async (promise: Promise<unknown>) => {
  let state = "pending";
  promise.then(
    () => (state = "resolved"),
    () => (state = "rejected"),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return state;
};

const nextTick = () => new Promise((resolve) => setImmediate(resolve));

describe("batching publisher", () => {
  it("sends a lone message at once, batches what arrives while a send is in flight, resolves each after its ack", async () => {
    const { producer, sends } = controlledProducer();
    const batches: [string, number][] = [];
    const publisher = createBatchingPublisher(producer, {
      onBatch: (topic, messages) => batches.push([topic, messages]),
    });
    const first = publisher.publish("orders", message("m1"));
    const second = publisher.publish("orders", message("m2"));
    const third = publisher.publish("orders", message("m3"));
    const otherTopic = publisher.publish("sync", message("s1"));
    expect(sends.map((s) => [s.topic, s.ids])).toEqual([
      ["orders", ["m1"]],
      ["sync", ["s1"]],
    ]);
    expect(await settled(second)).toBe("pending");
    sends[0]!.settle();
    await first;
    await nextTick();
    expect(sends[2]).toMatchObject({ topic: "orders", ids: ["m2", "m3"] });
    expect(await settled(second)).toBe("pending");
    sends[2]!.settle();
    await Promise.all([second, third]);
    sends[1]!.settle();
    await otherTopic;
    // What the batch-size metric observes: one count per produce request.
    expect(batches).toEqual([
      ["orders", 1],
      ["sync", 1],
      ["orders", 2],
    ]);
  });

  it("fails every caller of a batch the broker did not acknowledge", async () => {
    const { producer, sends } = controlledProducer();
    const publisher = createBatchingPublisher(producer);
    const lone = publisher.publish("orders", message("m1"));
    const a = publisher.publish("orders", message("m2"));
    const b = publisher.publish("orders", message("m3"));
    const failures = Promise.all([
      expect(lone).rejects.toThrow("broker down"),
      expect(a).rejects.toThrow("still down"),
      expect(b).rejects.toThrow("still down"),
    ]);
    sends[0]!.settle(new Error("broker down"));
    await nextTick();
    expect(sends[1]!.ids).toEqual(["m2", "m3"]);
    sends[1]!.settle(new Error("still down"));
    await failures;
  });

  it("refuses a message that cannot be encoded (10,000 levels deep) to its own caller only; its neighbours are sent", async () => {
    const { producer, sends } = controlledProducer();
    const publisher = createBatchingPublisher(producer);
    const gate = publisher.publish("orders", message("m0"));
    const neighbours = ["m1", "m2", "m3"].map((id) => publisher.publish("orders", message(id)));
    const deep = publisher.publish("orders", message("deep", nested(10_000)));
    const more = publisher.publish("orders", message("m4"));
    await expect(deep).rejects.toBeInstanceOf(InvalidEnvelopeError);
    sends[0]!.settle();
    await gate;
    await nextTick();
    expect(sends[1]!.ids).toEqual(["m1", "m2", "m3", "m4"]);
    sends[1]!.settle();
    await expect(Promise.all([...neighbours, more])).resolves.toBeDefined();
  });

  it("refuses a message larger than the broker accepts to its own caller, and caps batches by bytes", async () => {
    const { producer, sends } = controlledProducer();
    const maxBytes = 4_000;
    const publisher = createBatchingPublisher(producer, { maxBytes });
    const huge = publisher.publish("orders", message("huge", { blob: "x".repeat(maxBytes) }));
    await expect(huge).rejects.toBeInstanceOf(MessageTooLargeError);
    expect(sends).toEqual([]);

    // Ten messages of ~1 KB each while a send is in flight: they go out in batches under 4,000 bytes.
    const gate = publisher.publish("orders", message("gate"));
    const queued = Array.from({ length: 10 }, (_, i) =>
      publisher.publish("orders", message(`m${i}`, { blob: "y".repeat(800) })),
    );
    sends[0]!.settle();
    await gate;
    for (let sent = 1; sent < sends.length + 1 && queued.length > 0; sent++) {
      await nextTick();
      if (!sends[sent]) break;
      expect(sends[sent]!.bytes).toBeLessThanOrEqual(maxBytes);
      sends[sent]!.settle();
    }
    await Promise.all(queued);
    const batched = sends.slice(1).flatMap((s) => s.ids);
    expect(batched).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
    expect(sends.length - 1).toBeGreaterThanOrEqual(3);
  });
});
