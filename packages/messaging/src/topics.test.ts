import { uniqueName } from "@bridge/local-infra/testing";
import { describe, expect, it } from "vitest";
import { testClient } from "../test/support.ts";
import {
  baseTopicOf,
  bridgeTopicSpecs,
  dlqTopicOf,
  ensureTopics,
  retryTopicOf,
  topicWithCompanions,
} from "./topics.ts";

describe("topic names", () => {
  it("derives companions from the main topic, also from a companion", () => {
    expect(retryTopicOf("limio.orders.v1")).toBe("limio.orders.v1.retry");
    expect(dlqTopicOf("limio.orders.v1.retry")).toBe("limio.orders.v1.dlq");
    expect(baseTopicOf("limio.orders.v1.dlq")).toBe("limio.orders.v1");
    expect(bridgeTopicSpecs({ partitions: 6 }).map((s) => s.topic)).toEqual([
      "limio.orders.v1",
      "limio.orders.v1.retry",
      "limio.orders.v1.dlq",
      "stripe.events.v1",
      "stripe.events.v1.retry",
      "stripe.events.v1.dlq",
      "limio.sync.v1",
      "limio.sync.v1.retry",
      "limio.sync.v1.dlq",
      "limio.order-outcomes.v1",
      "limio.order-outcomes.v1.retry",
      "limio.order-outcomes.v1.dlq",
      "limio.subscription-changes.v1",
      "limio.subscription-changes.v1.retry",
      "limio.subscription-changes.v1.dlq",
    ]);
  });
});

describe("ensureTopics", () => {
  it("creates topics with their partitions, is idempotent, and refuses an under-partitioned topic", async () => {
    const client = testClient("topics-test");
    const topic = uniqueName("ensure");
    const specs = topicWithCompanions(topic, { partitions: 3 });
    await ensureTopics(client, specs);
    await ensureTopics(client, specs); // second run: no error, nothing changes
    const admin = client.kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: specs.map((s) => s.topic) });
      expect(Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]))).toEqual({
        [topic]: 3,
        [`${topic}.retry`]: 3,
        [`${topic}.dlq`]: 1,
      });
    } finally {
      await admin.disconnect();
    }
    await expect(ensureTopics(client, [{ topic, partitions: 6 }])).rejects.toThrow(/has 3 partitions/);
  });
});
