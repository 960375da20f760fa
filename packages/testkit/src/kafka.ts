import { createOffsetReader, type KafkaClient } from "@bridge/messaging";

/** Messages currently held in a topic (high − low watermark, summed over partitions). */
export async function topicSize(client: KafkaClient, topic: string): Promise<number> {
  const offsets = createOffsetReader(client);
  try {
    return (await offsets.partitionSizes(topic)).reduce((n, p) => n + p.size, 0);
  } finally {
    await offsets.close();
  }
}
