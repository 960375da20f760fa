import { Gauge, type Registry } from "prom-client";
import type { OffsetReader } from "./admin.ts";

export type ConsumerGaugeOptions = {
  /** Metric names, e.g. `sync_consumer_lag` and `sync_dlq_messages`. */
  lagMetric: string;
  dlqMetric: string;
  groupId: string;
  topics: string[];
  dlqTopics: string[];
  timeoutMs?: number;
};

/**
 * A consumer group's lag (high watermark − committed offset, per partition) and its DLQ sizes,
 * read from the broker when Prometheus scrapes (no timer). A failed read leaves the gauges unset
 * for that scrape rather than failing the whole /metrics answer.
 */
export function registerConsumerGauges(
  registry: Registry,
  offsets: OffsetReader,
  options: ConsumerGaugeOptions,
) {
  const withTimeout = <T>(p: Promise<T>) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("kafka metrics timed out")), options.timeoutMs ?? 3_000).unref(),
      ),
    ]);

  new Gauge({
    name: options.lagMetric,
    help: `Messages not yet committed by the ${options.groupId} group (high watermark - committed offset)`,
    labelNames: ["topic", "partition"],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const topic of options.topics) {
          for (const p of await withTimeout(offsets.groupOffsets(options.groupId, topic))) {
            const start = p.committed < 0 ? p.low : p.committed;
            this.set({ topic, partition: String(p.partition) }, Math.max(0, p.high - start));
          }
        }
      } catch {
        // Scrape without lag.
      }
    },
  });
  new Gauge({
    name: options.dlqMetric,
    help: `Messages held in the DLQ topics of the ${options.groupId} group's inputs`,
    labelNames: ["topic"],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const topic of options.dlqTopics) {
          const sizes = await withTimeout(offsets.partitionSizes(topic));
          this.set(
            { topic },
            sizes.reduce((n, p) => n + p.size, 0),
          );
        }
      } catch {
        // Scrape without DLQ sizes.
      }
    },
  });
}
