import { Kafka, logLevel } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { freshTopic, kafkaBrokers, uniqueName } from "./testing.ts";

const kafka = new Kafka({
  brokers: kafkaBrokers(),
  clientId: uniqueName("local-infra-test"),
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
const producer = kafka.producer({ idempotent: true });
const consumer = kafka.consumer({ groupId: uniqueName("local-infra-test-group") });

afterAll(async () => {
  await Promise.all([admin.disconnect(), producer.disconnect(), consumer.disconnect()]);
});

describe("the run's Kafka", () => {
  it("answers an admin client with its broker list", async () => {
    await admin.connect();
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.length).toBeGreaterThanOrEqual(1);
    expect(kafkaBrokers()).toContain(`${cluster.brokers[0]?.host}:${cluster.brokers[0]?.port}`);
  });

  it("creates a topic, then delivers one produced message to a consumer", async () => {
    const topic = await freshTopic("local-infra-roundtrip", { partitions: 2 });
    await admin.connect();
    expect(await admin.listTopics()).toContain(topic);
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]?.partitions).toHaveLength(2);

    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = new Promise<{ key: string; value: string; header: string }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          resolve({
            key: message.key?.toString() ?? "",
            value: message.value?.toString() ?? "",
            header: message.headers?.["x-test"]?.toString() ?? "",
          });
        },
      });
    });

    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: "sub-1", value: JSON.stringify({ hello: "kafka" }), headers: { "x-test": "yes" } }],
    });

    expect(await received).toEqual({ key: "sub-1", value: '{"hello":"kafka"}', header: "yes" });
  });
});
