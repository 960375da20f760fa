import { afterAll, describe, expect, it } from "vitest";
import { envelope, freshTopicWithCompanions, testClient } from "../test/support.ts";
import { createOffsetReader } from "./admin.ts";
import type { KafkaClient } from "./kafka-client.ts";
import { createKafkaProducer } from "./producer.ts";

const client = testClient("admin-test");
const producer = createKafkaProducer(client);
afterAll(() => producer.disconnect());

/** The real client, with its admin's offset reads counted. */
function countingClient(): { client: KafkaClient; reads: () => number } {
  let reads = 0;
  const kafka = Object.create(client.kafka) as KafkaClient["kafka"];
  kafka.admin = (...args) => {
    const admin = client.kafka.admin(...args);
    const fetchTopicOffsets = admin.fetchTopicOffsets.bind(admin);
    admin.fetchTopicOffsets = (topic) => {
      reads += 1;
      return fetchTopicOffsets(topic);
    };
    return admin;
  };
  return { client: { ...client, kafka }, reads: () => reads };
}

describe("createOffsetReader", () => {
  it("answers concurrent high-watermark reads of a topic with one round trip, and later ones anew", async () => {
    const topic = await freshTopicWithCompanions(client, "watermarks", 3);
    for (let i = 0; i < 4; i += 1) await producer.publish(topic, { key: `k${i}`, envelope: envelope({ i }) });
    const counted = countingClient();
    const offsets = createOffsetReader(counted.client);
    try {
      const together = await Promise.all([1, 2, 3, 4].map(() => offsets.highWatermarks(topic)));
      expect(counted.reads()).toBe(1);
      const total = (marks: Map<number, bigint> | undefined) =>
        [...(marks ?? new Map<number, bigint>()).values()].reduce((a, b) => a + b, 0n);
      for (const marks of together) expect(total(marks)).toBe(4n);

      // A read asked after the shared one finished is a new round trip and sees what came since.
      await producer.publish(topic, { key: "k-late", envelope: envelope({ late: true }) });
      expect(total(await offsets.highWatermarks(topic))).toBe(5n);
      expect(counted.reads()).toBe(2);
    } finally {
      await offsets.close();
    }
  });
});
