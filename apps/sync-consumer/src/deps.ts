import type { Logger } from "@bridge/observability";
import type { Store } from "@bridge/store";
import type { Stripe } from "@bridge/stripe-client";
import { Registry } from "prom-client";
import { createSyncMetrics, type SyncMetrics } from "./metrics.ts";
import type { Coalescer } from "./sync/coalescer.ts";

/** The consumer name of the inbox rows (the gateway's Sync API waits for exactly this). */
export const CONSUMER = "sync-consumer";

/** A sync reads Stripe inside its transaction: allow more than the store's 15 s default. */
export const SYNC_TRANSACTION_TIMEOUT_MS = 60_000;

export type SyncTopics = { stripeEvents: string; sync: string; orderOutcomes: string };

export type SyncDeps = {
  store: Store;
  stripe: Stripe;
  logger: Logger;
  metrics: SyncMetrics;
  coalescer: Coalescer;
  now?: () => Date;
};

/** The store with a longer transaction timeout, for handleOnce around a sync. */
export function syncStore(store: Store): Store {
  return {
    ...store,
    transaction: (work, options) =>
      store.transaction(work, { timeoutMs: SYNC_TRANSACTION_TIMEOUT_MS, ...(options ?? {}) }),
  };
}

/**
 * Deps for one-off operator actions (import, reconcile) outside the consumer: a private metrics
 * registry and no coalescing (every call reads Stripe).
 */
export function operatorDeps(
  deps: Pick<SyncDeps, "store" | "stripe" | "logger"> & Partial<SyncDeps>,
): SyncDeps {
  return {
    metrics: createSyncMetrics(new Registry()),
    coalescer: {
      snapshot: async () => undefined,
      remember: () => {},
      isReflected: () => false,
      close: async () => {},
    },
    ...deps,
  };
}
