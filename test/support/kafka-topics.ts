// Reading a topic end to end for a failure's diagnosis: which message ids are in it at all.
import { Kafka, logLevel } from "kafkajs";

/** The `x-message-id` headers (the envelope ids) of every message in `topic`, up to its end now. */
export async function messageIdsInTopic(
  brokers: string,
  topic: string,
  timeoutMs = 30_000,
): Promise<Set<string>> {
  const kafka = new Kafka({ brokers: [brokers], clientId: "fault-test-reader", logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, bigint>();
  try {
    for (const p of await admin.fetchTopicOffsets(topic)) ends.set(p.partition, BigInt(p.high));
  } finally {
    await admin.disconnect();
  }
  const ids = new Set<string>();
  const pending = new Set([...ends].filter(([, high]) => high > 0n).map(([partition]) => partition));
  if (pending.size === 0) return ids;
  const consumer = kafka.consumer({
    groupId: `fault-test-reader-${Date.now()}-${Math.random().toString(36).slice(2)}`,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const id = message.headers?.["x-message-id"];
        if (id) ids.add(id.toString());
        if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) {
          pending.delete(partition);
          if (pending.size === 0) done();
        }
      },
    });
    await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  } finally {
    await consumer.disconnect();
  }
  return ids;
}
