import type { Logger } from "@bridge/observability";
import { type Store, SYNC_INBOX } from "@bridge/store";
import type { Stripe } from "@bridge/stripe-client";
import { Registry } from "prom-client";
import { type Coalescer, noCoalescing } from "./coalescer.ts";
import { createSyncMetrics, type SyncMetrics } from "./metrics.ts";

/** The inbox name of every message the sync applies (the store's `SYNC_INBOX`). */
export const CONSUMER = SYNC_INBOX;

/** A sync reads Stripe inside its transaction: allow more than the store's 15 s default. */
export const SYNC_TRANSACTION_TIMEOUT_MS = 60_000;

export type SyncDeps = {
  store: Store;
  stripe: Stripe;
  logger: Logger;
  metrics: SyncMetrics;
  coalescer: Coalescer;
  now?: () => Date;
};

/** What an operator action (import, reconcile) needs; the rest is filled by `operatorDeps`. */
export type OperatorDeps = Pick<SyncDeps, "store" | "stripe" | "logger"> & Partial<SyncDeps>;

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
export function operatorDeps(deps: OperatorDeps): SyncDeps {
  return { metrics: createSyncMetrics(new Registry()), coalescer: noCoalescing, ...deps };
}
