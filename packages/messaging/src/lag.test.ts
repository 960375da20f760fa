import { uniqueName } from "@bridge/local-infra/testing";
import { afterAll, describe, expect, it } from "vitest";
import { envelope, freshTopicWithCompanions, testClient, until } from "../test/support.ts";
import { startConsumer } from "./consumer.ts";
import { consumerLag } from "./lag.ts";
import { createKafkaProducer } from "./producer.ts";

const client = testClient("lag-test");
const producer = createKafkaProducer(client);
afterAll(() => producer.disconnect());

describe("consumerLag", () => {
  it("counts produced-but-unhandled messages per partition, down to zero once handled", async () => {
    const topic = await freshTopicWithCompanions(client, "lag", 2);
    const groupId = uniqueName("lag-group");
    for (let i = 0; i < 6; i += 1) await producer.publish(topic, { key: `k${i}`, envelope: envelope({ i }) });

    const before = await consumerLag(client, groupId, [topic]);
    expect(before.map((p) => p.partition).sort()).toEqual([0, 1]);
    expect(before.reduce((sum, p) => sum + p.lag, 0)).toBe(6);

    let handled = 0;
    const consumer = await startConsumer(client, {
      groupId,
      topics: [topic],
      retry: { retryTopic: false },
      handler: async () => {
        handled += 1;
      },
    });
    try {
      await until(() => handled === 6, 30_000, "all handled");
      await until(
        async () => (await consumerLag(client, groupId, [topic])).every((p) => p.lag === 0),
        30_000,
        "lag 0",
      );
    } finally {
      await consumer.stop();
    }
  });
});
