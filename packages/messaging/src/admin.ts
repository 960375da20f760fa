import type { Admin } from "kafkajs";
import type { KafkaClient } from "./kafka-client.ts";

/**
 * Reads of the broker's metadata and offsets that apps need while running (burst coalescing,
 * readiness, lag gauges), over one lazily connected kafkajs admin. Apps never see kafkajs
 * (docs/decisions/002).
 */
export type OffsetReader = {
  /** The partition's high watermark (the next offset to be written); undefined when unreadable. */
  highWatermark(topic: string, partition: number): Promise<bigint | undefined>;
  /** Every partition's high watermark, in one round trip; undefined when unreadable. */
  highWatermarks(topic: string): Promise<Map<number, bigint> | undefined>;
  /** Messages held per partition: high − low watermark. */
  partitionSizes(topic: string): Promise<{ partition: number; size: number }[]>;
  /** Per partition: the group's committed offset (-1 when none), low and high watermark. */
  groupOffsets(
    groupId: string,
    topic: string,
  ): Promise<{ partition: number; committed: number; low: number; high: number }[]>;
  /** Can the cluster be reached (a metadata round trip)? For readiness probes. */
  reachable(): Promise<boolean>;
  close(): Promise<void>;
};

export function createOffsetReader(client: KafkaClient): OffsetReader {
  const admin: Admin = client.kafka.admin();
  let connected: Promise<void> | undefined;
  // Reconnect on the next call after a failed connect (the broker may come back).
  const ready = () => {
    connected ??= admin.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    return connected;
  };
  const readHighWatermarks = async (topic: string) => {
    try {
      await ready();
      return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
    } catch (error) {
      client.logger.warn({ err: error, topic }, "could not read the high watermarks");
      return undefined;
    }
  };
  const watermarkReads = new Map<string, Promise<Map<number, bigint> | undefined>>();
  return {
    async highWatermark(topic, partition) {
      try {
        await ready();
        const found = (await admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition);
        return found ? BigInt(found.high) : undefined;
      } catch (error) {
        client.logger.warn({ err: error, topic }, "could not read the high watermark");
        return undefined;
      }
    },
    highWatermarks(topic) {
      // Callers at the same time share one read (each partition handled at once asks before its
      // refetch: one round trip instead of several). A read that began before the call reports
      // positions no later than the caller's own would, and callers only take a watermark as a
      // bound of what is already reflected: a lower one costs an extra refetch, never a missed one.
      let read = watermarkReads.get(topic);
      if (read === undefined) {
        read = readHighWatermarks(topic).finally(() => watermarkReads.delete(topic));
        watermarkReads.set(topic, read);
      }
      return read;
    },
    async partitionSizes(topic) {
      await ready();
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map((p) => ({ partition: p.partition, size: Number(p.high) - Number(p.low) }));
    },
    async groupOffsets(groupId, topic) {
      await ready();
      const [ends, committed] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      const byPartition = new Map(
        (committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]),
      );
      return ends.map((p) => ({
        partition: p.partition,
        committed: byPartition.get(p.partition) ?? -1,
        low: Number(p.low),
        high: Number(p.high),
      }));
    },
    async reachable() {
      try {
        await ready();
        await admin.describeCluster();
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      if (connected) await admin.disconnect().catch(() => {});
      connected = undefined;
    },
  };
}
