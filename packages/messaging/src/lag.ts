import type { KafkaClient } from "./kafka-client.ts";

export type PartitionLag = {
  topic: string;
  partition: number;
  /** Next offset the group will read (-1: nothing committed yet). */
  committed: number;
  /** High watermark: the offset the next produced message will get. */
  end: number;
  /** Messages produced and not yet handled by the group. */
  lag: number;
};

/**
 * How far a consumer group is behind on each partition of `topics`. A group that never committed
 * on a partition counts everything from the partition's low watermark as lag.
 */
export async function consumerLag(
  client: KafkaClient,
  groupId: string,
  topics: string[],
): Promise<PartitionLag[]> {
  const admin = client.kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId, topics });
    const lags: PartitionLag[] = [];
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const groupOffsets = committed.find((entry) => entry.topic === topic)?.partitions ?? [];
      for (const end of ends) {
        const at = Number(groupOffsets.find((p) => p.partition === end.partition)?.offset ?? -1);
        const high = Number(end.high);
        const from = at >= 0 ? at : Number(end.low);
        lags.push({
          topic,
          partition: end.partition,
          committed: at,
          end: high,
          lag: Math.max(0, high - from),
        });
      }
    }
    return lags;
  } finally {
    await admin.disconnect();
  }
}
