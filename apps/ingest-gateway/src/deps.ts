import type { MessageProducer } from "@bridge/messaging";
import { topics as bridgeTopics } from "@bridge/messaging";
import type { Logger, Metrics } from "@bridge/observability";
import type { Store } from "@bridge/store";
import type { Stripe } from "@bridge/stripe-client";
import type { GatewayConfig } from "./config.ts";
import type { InputLimits } from "./input-limits.ts";
import type { OrderOutcomeWaiter } from "./outcome-waiter.ts";

export type GatewayTopics = { orders: string; stripeEvents: string; sync: string; orderOutcomes: string };

export type GatewayDeps = {
  config: GatewayConfig;
  logger: Logger;
  /** Durable publishing (acks=all); the gateway's only write path. */
  producer: MessageProducer;
  /** The Limio store, read only: GET routes, unknown-id 404s, idempotency look-ups, sync completion. */
  store: Pick<Store, "db" | "ping" | "sql">;
  /** Read-only Stripe client for order previews (decision 026); without it previews answer 503. */
  stripe?: Stripe;
  /** Outcome waits for `process_immediately` orders; without it they fall back to the store. */
  outcomes?: OrderOutcomeWaiter;
  /** Topic names (tests use unique ones); default the bridge's topics. */
  topics?: Partial<GatewayTopics>;
  /** Prometheus registry; a new one per app when absent. */
  metrics?: Metrics;
  /** Named checks for /readyz; default: producer connected and database reachable. */
  readiness?: () => Promise<Record<string, boolean>>;
  /** How often the sync route polls the store for the sync-consumer's inbox row (default 50 ms). */
  syncPollIntervalMs?: number;
};

/** What route plugins receive: the deps with defaults filled in. */
export type RouteDeps = Omit<GatewayDeps, "topics" | "syncPollIntervalMs"> & {
  topics: GatewayTopics;
  syncPollIntervalMs: number;
  inputLimits: InputLimits;
};

export function resolveTopics(overrides: Partial<GatewayTopics> = {}): GatewayTopics {
  return {
    orders: overrides.orders ?? bridgeTopics.orders,
    stripeEvents: overrides.stripeEvents ?? bridgeTopics.stripeEvents,
    sync: overrides.sync ?? bridgeTopics.sync,
    orderOutcomes: overrides.orderOutcomes ?? bridgeTopics.orderOutcomes,
  };
}
