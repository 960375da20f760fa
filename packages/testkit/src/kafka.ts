import { randomUUID } from "node:crypto";
import type { Envelope } from "@bridge/domain";
import { kafkaBrokers, uniqueName } from "@bridge/local-infra/testing";
import {
  createKafkaClient,
  createOffsetReader,
  ensureTopics,
  type KafkaClient,
  topicWithCompanions,
} from "@bridge/messaging";
import { createLogger, type Logger } from "@bridge/observability";

/** A quiet logger (TEST_LOG_LEVEL raises it). */
export const testLogger = (name: string): Logger =>
  createLogger(name, { level: process.env.TEST_LOG_LEVEL ?? "error" });

/** A Kafka client on the run's broker. */
export function testKafkaClient(name = "test"): KafkaClient {
  return createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueName(name), logger: testLogger(name) });
}

/** A valid envelope around `data` (a fresh id and correlation id). */
export function testEnvelope<T>(data: T, overrides: Partial<Envelope<T>> = {}): Envelope<T> {
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

/** Fresh topics named after `names` (each with `.retry` and `.dlq`), by the same keys. */
export async function freshTopicsWithCompanions<K extends string>(
  client: KafkaClient,
  names: readonly K[],
  partitions = 2,
): Promise<Record<K, string>> {
  const topics = Object.fromEntries(names.map((name) => [name, uniqueName(name)])) as Record<K, string>;
  await ensureTopics(
    client,
    Object.values<string>(topics).flatMap((t) => topicWithCompanions(t, { partitions })),
  );
  return topics;
}

/** Messages currently held in a topic (high − low watermark, summed over partitions). */
export async function topicSize(client: KafkaClient, topic: string): Promise<number> {
  const offsets = createOffsetReader(client);
  try {
    return (await offsets.partitionSizes(topic)).reduce((n, p) => n + p.size, 0);
  } finally {
    await offsets.close();
  }
}
