// Helpers shared by this package's tests (outside src/: product code cannot import them).
import { randomUUID } from "node:crypto";
import type { Envelope } from "@bridge/domain";
import { kafkaBrokers, uniqueName, until } from "@bridge/local-infra/testing";
import { createLogger } from "@bridge/observability";
import { createKafkaClient, type KafkaClient } from "../src/kafka-client.ts";
import { ensureTopics, topicWithCompanions } from "../src/topics.ts";

export function testClient(name = "messaging-test"): KafkaClient {
  return createKafkaClient({
    brokers: kafkaBrokers(),
    clientId: name,
    logger: createLogger(name, { level: process.env.TEST_LOG_LEVEL ?? "error" }),
  });
}

export function envelope<T>(data: T, overrides: Partial<Envelope<T>> = {}): Envelope<T> {
  return {
    id: randomUUID(),
    type: "test.happened",
    version: 1,
    occurredAt: new Date().toISOString(),
    source: "test",
    correlationId: randomUUID(),
    data,
    ...overrides,
  };
}

/** A fresh topic with its `.retry` and `.dlq` companions. */
export async function freshTopicWithCompanions(
  client: KafkaClient,
  prefix: string,
  partitions = 1,
): Promise<string> {
  const topic = uniqueName(prefix);
  await ensureTopics(client, topicWithCompanions(topic, { partitions }));
  return topic;
}

export { until };

/** Committed offset per partition of a group on a topic (-1 when none). */
export async function committedOffsets(
  client: KafkaClient,
  groupId: string,
  topic: string,
): Promise<number[]> {
  const admin = client.kafka.admin();
  await admin.connect();
  try {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (result?.partitions ?? []).sort((a, b) => a.partition - b.partition).map((p) => Number(p.offset));
  } finally {
    await admin.disconnect();
  }
}
