import { Counter, Histogram, type Registry } from "prom-client";

export type SyncMetrics = {
  applied: Counter<"trigger">;
  changes: Counter<"kind">;
  skippedLoop: Counter;
  skippedCoalesced: Counter;
  unmatched: Counter;
  ignored: Counter<"reason">;
  stripeFetches: Counter<"call">;
  webhookToStore: Histogram<"outcome">;
};

/** 50 ms to 10 min: a healthy sync is well under a second, a backlog or a Stripe retry is minutes. */
const webhookToStoreBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

const counter = <L extends string>(registry: Registry, name: string, help: string, labelNames: L[] = []) =>
  (registry.getSingleMetric(name) as Counter<L> | undefined) ??
  new Counter<L>({ name, help, labelNames, registers: [registry] });

/** The sync's own counters (the runtime adds messaging_*, the Stripe client stripe_requests_*). */
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
    webhookToStore:
      (registry.getSingleMetric("sync_webhook_to_store_seconds") as Histogram<"outcome"> | undefined) ??
      new Histogram({
        name: "sync_webhook_to_store_seconds",
        help: "From a Stripe event's creation to its handling committed in the Limio store, by outcome",
        labelNames: ["outcome"],
        buckets: webhookToStoreBuckets,
        registers: [registry],
      }),
  };
}

/**
 * Observes one Stripe event's webhook-to-store lag once its handling is committed. The clock starts
 * at the envelope's `occurredAt`, which the gateway sets to the event's `created` (Stripe's time,
 * so Stripe's own delivery delay and retries count too); clock skew never makes it negative.
 */
export function observeWebhookToStore(metrics: SyncMetrics, occurredAt: string, outcome: string): void {
  metrics.webhookToStore.observe({ outcome }, Math.max(0, (Date.now() - Date.parse(occurredAt)) / 1000));
}
