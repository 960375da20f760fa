import { InvalidEnvelopeError, type MessageProducer, type OutgoingMessage } from "@bridge/messaging";
import { describe, expect, it } from "vitest";
import { createBatchingPublisher } from "./batching-publisher.ts";

/** A producer whose sends complete when the test says so. */
function controlledProducer() {
  const sends: { topic: string; ids: string[]; settle: (error?: Error) => void }[] = [];
  const send = (topic: string, messages: OutgoingMessage<unknown>[]) =>
    new Promise<never[]>((resolve, reject) => {
      sends.push({
        topic,
        ids: messages.map((m) => m.envelope.id),
        settle: (error) => (error ? reject(error) : resolve([])),
      });
    });
  const producer = {
    connect: async () => {},
    disconnect: async () => {},
    isConnected: () => true,
    publishBatch: send,
    publish: async (topic: string, message: OutgoingMessage<unknown>) => {
      if (message.envelope.id.startsWith("bad")) throw new InvalidEnvelopeError("invalid");
      await send(topic, [message]);
      return { topic, partition: 0, offset: "0" };
    },
  } as unknown as MessageProducer;
  return { producer, sends };
}

const message = (id: string): OutgoingMessage<unknown> => ({
  key: "k",
  envelope: {
    id,
    type: "t",
    version: 1,
    occurredAt: new Date().toISOString(),
    source: "s",
    correlationId: "c",
    data: {},
  },
});

const settled = async (promise: Promise<unknown>) => {
  let state = "pending";
  promise.then(
    () => (state = "resolved"),
    () => (state = "rejected"),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return state;
};

describe("batching publisher", () => {
  it("sends a lone message at once, batches what arrives while a send is in flight, resolves each after its ack", async () => {
    const { producer, sends } = controlledProducer();
    const publisher = createBatchingPublisher(producer);
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
    await new Promise((resolve) => setImmediate(resolve));
    expect(sends[2]).toMatchObject({ topic: "orders", ids: ["m2", "m3"] });
    expect(await settled(second)).toBe("pending");
    sends[2]!.settle();
    await Promise.all([second, third]);
    sends[1]!.settle();
    await otherTopic;
  });

  it("fails every caller of a failed batch, and isolates an invalid envelope", async () => {
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
    await new Promise((resolve) => setImmediate(resolve));
    expect(sends[1]!.ids).toEqual(["m2", "m3"]);
    sends[1]!.settle(new Error("still down"));
    await failures;

    const gate = publisher.publish("orders", message("m4"));
    const good = publisher.publish("orders", message("m5"));
    const bad = publisher.publish("orders", message("bad-1"));
    const badRefused = expect(bad).rejects.toBeInstanceOf(InvalidEnvelopeError);
    sends[2]!.settle();
    await gate;
    await new Promise((resolve) => setImmediate(resolve));
    sends[3]!.settle(new InvalidEnvelopeError("one of them is invalid"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sends[4]).toMatchObject({ ids: ["m5"] });
    sends[4]!.settle();
    await expect(good).resolves.toBeUndefined();
    await badRefused;
  });
});
