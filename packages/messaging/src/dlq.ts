import { randomUUID } from "node:crypto";
import type { IHeaders, KafkaMessage } from "kafkajs";
import { decodeHeaders, type MessageHeaders } from "./codec.ts";
import { failureHeaders, stripFailure } from "./failure-headers.ts";
import type { KafkaClient } from "./kafka-client.ts";
import { createKafkaProducer } from "./producer.ts";

export type DlqEntry = {
  /** `<partition>-<offset>` in the DLQ topic; pass to `redrive({ ids })`. */
  id: string;
  partition: number;
  offset: string;
  /** When the producer created the message (ms since the epoch, Kafka's CreateTime). */
  timestamp: number;
  key: string | null;
  /** The value exactly as it failed (may not be JSON). */
  value: Buffer | null;
  headers: MessageHeaders;
  errorClass: string | undefined;
  errorMessage: string | undefined;
  failedAt: string | undefined;
  original: { topic: string | undefined; partition: number | undefined; offset: string | undefined };
};

type RawEntry = { partition: number; message: KafkaMessage };

/**
 * Reads up to `limit` messages of any topic (a DLQ, usually) as it is now, oldest first per
 * partition (DLQ topics have 1 partition by default).
 */
export async function readTopic(
  client: KafkaClient,
  topic: string,
  options: { limit?: number; timeoutMs?: number } = {},
): Promise<DlqEntry[]> {
  const raw = await readAll(client, topic, options);
  return raw.map(toEntry);
}

/**
 * Republishes DLQ messages (all, or those in `ids`) to their original topic with the same key,
 * value and headers, minus the failure stamps, plus `x-redriven-from: <dlq>/<partition>/<offset>`.
 * The DLQ is a log: entries stay and re-driving one twice publishes it twice (handlers are
 * idempotent by message id). Returns what was re-driven.
 */
export async function redrive(
  client: KafkaClient,
  dlqTopic: string,
  options: { ids?: string[]; timeoutMs?: number } = {},
): Promise<{ id: string; topic: string }[]> {
  const wanted = options.ids ? new Set(options.ids) : undefined;
  const raw = (await readAll(client, dlqTopic, { timeoutMs: options.timeoutMs })).filter(
    (r) => !wanted || wanted.has(idOf(r)),
  );
  if (wanted) {
    const found = new Set(raw.map(idOf));
    const missing = [...wanted].filter((id) => !found.has(id));
    if (missing.length > 0) throw new Error(`not in ${dlqTopic}: ${missing.join(", ")}`);
  }
  const producer = createKafkaProducer(client);
  const done: { id: string; topic: string }[] = [];
  try {
    for (const r of raw) {
      const target = decodeHeaders(r.message.headers)[failureHeaders.originalTopic];
      if (!target) throw new Error(`${dlqTopic} ${idOf(r)} has no ${failureHeaders.originalTopic} header`);
      const headers: IHeaders = stripFailure(
        r.message.headers,
        `${dlqTopic}/${r.partition}/${r.message.offset}`,
      );
      await producer.sendRaw(target, [{ key: r.message.key, value: r.message.value, headers }]);
      done.push({ id: idOf(r), topic: target });
    }
  } finally {
    await producer.disconnect();
  }
  client.logger.info({ dlqTopic, count: done.length }, "re-drove DLQ messages");
  return done;
}

function idOf(r: RawEntry): string {
  return `${r.partition}-${r.message.offset}`;
}

function toEntry(r: RawEntry): DlqEntry {
  const headers = decodeHeaders(r.message.headers);
  const originalPartition = headers[failureHeaders.originalPartition];
  return {
    id: idOf(r),
    partition: r.partition,
    offset: r.message.offset,
    timestamp: Number(r.message.timestamp),
    key: r.message.key?.toString("utf8") ?? null,
    value: r.message.value,
    headers,
    errorClass: headers[failureHeaders.errorClass],
    errorMessage: headers[failureHeaders.errorMessage],
    failedAt: headers[failureHeaders.failedAt],
    original: {
      topic: headers[failureHeaders.originalTopic],
      partition: originalPartition === undefined ? undefined : Number(originalPartition),
      offset: headers[failureHeaders.originalOffset],
    },
  };
}

/**
 * Reads a topic from the start up to its current end with a throwaway consumer group (kafkajs
 * has no group-less assign), then deletes that group.
 */
async function readAll(
  client: KafkaClient,
  topic: string,
  options: { limit?: number; timeoutMs?: number },
): Promise<RawEntry[]> {
  const admin = client.kafka.admin();
  await admin.connect();
  const groupId = `dlq-reader-${randomUUID()}`;
  try {
    const ends = new Map<number, bigint>();
    for (const p of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(p.high) > BigInt(p.low)) ends.set(p.partition, BigInt(p.high) - 1n);
    }
    if (ends.size === 0) return [];
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const entries: RawEntry[] = [];
    const consumer = client.kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`reading ${topic} timed out`)),
          options.timeoutMs ?? 15_000,
        );
        const remaining = new Set(ends.keys());
        const finish = () => {
          clearTimeout(timer);
          resolve();
        };
        consumer
          .subscribe({ topic, fromBeginning: true })
          .then(() =>
            consumer.run({
              autoCommit: false,
              eachMessage: async ({ partition, message }) => {
                const end = ends.get(partition);
                if (end === undefined || BigInt(message.offset) > end || entries.length >= limit) return;
                entries.push({ partition, message });
                if (BigInt(message.offset) === end) remaining.delete(partition);
                if (remaining.size === 0 || entries.length >= limit) finish();
              },
            }),
          )
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return entries.sort(
      (a, b) => a.partition - b.partition || Number(BigInt(a.message.offset) - BigInt(b.message.offset)),
    );
  } finally {
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
}
