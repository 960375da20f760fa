import { createLogger } from "@bridge/observability";
import { describe, expect, it } from "vitest";
import type { KafkaClient } from "./kafka-client.ts";
import { ensureTopics } from "./topics.ts";

/** A client whose admin fails its first `failures` listTopics calls with the given error. */
function flakyClient(failures: number, error: Error & { retriable?: boolean }) {
  let listCalls = 0;
  const created: string[] = [];
  const admin = {
    connect: async () => {},
    disconnect: async () => {},
    listTopics: async () => {
      listCalls += 1;
      if (listCalls <= failures) throw error;
      return created;
    },
    createTopics: async ({ topics }: { topics: { topic: string }[] }) => {
      created.push(...topics.map((t) => t.topic));
      return true;
    },
    fetchTopicMetadata: async ({ topics }: { topics: string[] }) => ({
      topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1 }] })),
    }),
  };
  const client = {
    kafka: { admin: () => admin },
    logger: createLogger("topics-test", { level: "silent" }),
    clientId: "test",
  } as unknown as KafkaClient;
  return { client, created, calls: () => listCalls };
}

describe("ensureTopics at boot", () => {
  it("retries an error kafkajs marks retriable (a broker still loading) until it succeeds", async () => {
    const timeout = Object.assign(new Error("Request timed out"), { retriable: true });
    const { client, created, calls } = flakyClient(2, timeout);
    await ensureTopics(client, [{ topic: "t1", partitions: 1 }]);
    expect(calls()).toBe(3);
    expect(created).toEqual(["t1"]);
  });

  it("does not retry an error that is not retriable", async () => {
    const denied = Object.assign(new Error("Topic authorization failed"), { retriable: false });
    const { client, calls } = flakyClient(1, denied);
    await expect(ensureTopics(client, [{ topic: "t1", partitions: 1 }])).rejects.toThrow("authorization");
    expect(calls()).toBe(1);
  });
});
