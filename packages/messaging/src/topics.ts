import type { Admin } from "kafkajs";
import type { KafkaClient } from "./kafka-client.ts";

/** Topic names of DESIGN.md §3. */
export const topics = {
  orders: "limio.orders.v1",
  stripeEvents: "stripe.events.v1",
  sync: "limio.sync.v1",
  orderOutcomes: "limio.order-outcomes.v1",
  /** The sync's change events, from its outbox (docs/decisions/017). */
  subscriptionChanges: "limio.subscription-changes.v1",
} as const;

export type TopicName = (typeof topics)[keyof typeof topics];

const RETRY_SUFFIX = ".retry";
const DLQ_SUFFIX = ".dlq";

export function retryTopicOf(topic: string): string {
  return `${baseTopicOf(topic)}${RETRY_SUFFIX}`;
}

export function dlqTopicOf(topic: string): string {
  return `${baseTopicOf(topic)}${DLQ_SUFFIX}`;
}

/** `x.retry` and `x.dlq` → `x`; anything else unchanged. */
export function baseTopicOf(topic: string): string {
  if (topic.endsWith(RETRY_SUFFIX)) return topic.slice(0, -RETRY_SUFFIX.length);
  if (topic.endsWith(DLQ_SUFFIX)) return topic.slice(0, -DLQ_SUFFIX.length);
  return topic;
}

export type TopicSpec = {
  topic: string;
  partitions: number;
  replicationFactor?: number;
  /** Topic-level configs, e.g. `{ "retention.ms": "1209600000" }`. */
  config?: Record<string, string>;
};

/**
 * A topic plus its `.retry` and `.dlq` companions. The DLQ keeps messages for 30 days by
 * default (long enough to diagnose and re-drive); the retry topic has the main topic's
 * partition count so keys keep their partition.
 */
export function topicWithCompanions(
  topic: string,
  options: {
    partitions: number;
    replicationFactor?: number;
    dlqPartitions?: number;
    dlqRetentionMs?: number;
  },
): TopicSpec[] {
  const replicationFactor = options.replicationFactor;
  return [
    { topic, partitions: options.partitions, replicationFactor },
    { topic: retryTopicOf(topic), partitions: options.partitions, replicationFactor },
    {
      topic: dlqTopicOf(topic),
      partitions: options.dlqPartitions ?? 1,
      replicationFactor,
      config: { "retention.ms": String(options.dlqRetentionMs ?? 30 * 24 * 3600 * 1000) },
    },
  ];
}

/** Every topic of the bridge with its companions, with the given partition count. */
export function bridgeTopicSpecs(options: { partitions: number; replicationFactor?: number }): TopicSpec[] {
  return Object.values(topics).flatMap((topic) => topicWithCompanions(topic, options));
}

/**
 * Creates the missing topics explicitly (brokers run with auto-create off). Idempotent:
 * existing topics are left alone; if one exists with fewer partitions than asked, it throws
 * rather than silently running with less parallelism (or re-partitioning keys).
 */
export async function ensureTopics(
  client: KafkaClient,
  specs: TopicSpec[],
  options: { timeoutMs?: number } = {},
): Promise<void> {
  // Services start together, often while the broker is still loading: a transient error that
  // kafkajs marks retriable should not kill a service at boot (seen under load: admin requests
  // timing out). Anything else, or a broker still failing after the deadline, is thrown.
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    try {
      return await ensureTopicsOnce(client, specs);
    } catch (error) {
      const retriable = (error as { retriable?: boolean }).retriable === true;
      if (!retriable || Date.now() > deadline) throw error;
      client.logger.warn({ err: error }, "creating topics failed; retrying");
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function ensureTopicsOnce(client: KafkaClient, specs: TopicSpec[]): Promise<void> {
  const admin = client.kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions,
          replicationFactor: s.replicationFactor ?? -1,
          configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
      client.logger.info({ topics: missing.map((s) => s.topic) }, "created topics");
    }
    const present = specs.filter((s) => existing.has(s.topic));
    if (present.length > 0) {
      const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
      for (const spec of present) {
        const found = metadata.topics.find((t) => t.name === spec.topic);
        const count = found?.partitions.length ?? 0;
        if (count < spec.partitions) {
          throw new Error(
            `topic ${spec.topic} has ${count} partitions, expected at least ${spec.partitions}`,
          );
        }
      }
    }
    await waitForLeaders(admin, specs);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Services start together and create the same topics: one may list a topic another has just
 * created before its partitions have leaders, and a consumer subscribing then crashes with
 * UNKNOWN_TOPIC_OR_PARTITION. Return only once every partition of every topic has a leader.
 */
async function waitForLeaders(admin: Admin, specs: TopicSpec[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await admin
      .fetchTopicMetadata({ topics: specs.map((s) => s.topic) })
      .then((metadata) =>
        specs.every((spec) => {
          const partitions = metadata.topics.find((t) => t.name === spec.topic)?.partitions ?? [];
          return partitions.length >= spec.partitions && partitions.every((p) => p.leader >= 0);
        }),
      )
      .catch(() => false);
    if (ready) return;
    if (Date.now() > deadline)
      throw new Error(
        `topics have no leaders after ${timeoutMs} ms: ${specs.map((s) => s.topic).join(", ")}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
