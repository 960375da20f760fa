import { Counter, type Registry } from "prom-client";

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
  };
}
