import type { KafkaClient } from "@bridge/messaging";
import { Counter, Gauge, type Registry } from "prom-client";

export type SyncMetrics = {
  applied: Counter<"trigger">;
  changes: Counter<"kind">;
  skippedLoop: Counter;
  skippedCoalesced: Counter;
  unmatched: Counter;
  ignored: Counter<"reason">;
  stripeFetches: Counter<"call">;
};

const counter = <L extends string>(registry: Registry, name: string, help: string, labelNames: L[] = []) =>
  (registry.getSingleMetric(name) as Counter<L> | undefined) ??
  new Counter<L>({ name, help, labelNames, registers: [registry] });

/** The sync-consumer's own counters (the runtime adds messaging_*, the Stripe client stripe_requests_*). */
export function createSyncMetrics(registry: Registry): SyncMetrics {
  return {
    applied: counter(registry, "sync_applied_total", "Syncs applied to a Limio subscription", ["trigger"]),
    changes: counter(registry, "sync_changes_total", "Audit events written by syncs, by kind", ["kind"]),
    skippedLoop: counter(
      registry,
      "sync_skipped_loop_total",
      "Stripe events caused by Limio orders (loop prevention): not synced",
    ),
    skippedCoalesced: counter(
      registry,
      "sync_skipped_coalesced_total",
      "Stripe events already reflected by a refetch that started after they were published",
    ),
    unmatched: counter(
      registry,
      "sync_unmatched_total",
      "Stripe events about a Stripe subscription no Limio subscription is linked to",
    ),
    ignored: counter(registry, "sync_ignored_total", "Stripe events with nothing to sync", ["reason"]),
    stripeFetches: counter(registry, "stripe_fetches_total", "Stripe API reads made by the sync", ["call"]),
  };
}

/**
 * Consumer lag (high watermark − committed offset, per partition) and DLQ sizes, read from the
 * broker when Prometheus scrapes (no timer). A failed read leaves the gauges unset for that scrape.
 */
export function registerKafkaGauges(
  registry: Registry,
  client: KafkaClient,
  options: { groupId: string; topics: string[]; dlqTopics: string[]; timeoutMs?: number },
) {
  const admin = client.kafka.admin();
  let connected: Promise<void> | undefined;
  const ready = () => {
    connected ??= admin.connect().catch((error: unknown) => {
      connected = undefined;
      throw error;
    });
    return connected;
  };
  const withTimeout = <T>(p: Promise<T>) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("kafka metrics timed out")), options.timeoutMs ?? 3_000).unref(),
      ),
    ]);

  new Gauge({
    name: "sync_consumer_lag",
    help: "Messages not yet committed by the sync-consumer group (high watermark - committed offset)",
    labelNames: ["topic", "partition"],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        await withTimeout(ready());
        for (const topic of options.topics) {
          const [ends, committed] = await withTimeout(
            Promise.all([
              admin.fetchTopicOffsets(topic),
              admin.fetchOffsets({ groupId: options.groupId, topics: [topic] }),
            ]),
          );
          const byPartition = new Map(
            (committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]),
          );
          for (const p of ends) {
            const done = byPartition.get(p.partition) ?? -1;
            const start = done < 0 ? Number(p.low) : done;
            this.set({ topic, partition: String(p.partition) }, Math.max(0, Number(p.high) - start));
          }
        }
      } catch {
        // Scrape without lag rather than fail the whole /metrics answer.
      }
    },
  });
  new Gauge({
    name: "sync_dlq_messages",
    help: "Messages held in the DLQ topics of the sync-consumer's inputs",
    labelNames: ["topic"],
    registers: [registry],
    async collect() {
      this.reset();
      try {
        await withTimeout(ready());
        for (const topic of options.dlqTopics) {
          const offsets = await withTimeout(admin.fetchTopicOffsets(topic));
          const size = offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
          this.set({ topic }, size);
        }
      } catch {
        // as above
      }
    },
  });
  return { close: () => admin.disconnect().catch(() => {}) };
}
