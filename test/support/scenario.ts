// The frame every fault scenario shares: its own Kafka (the gateway's topic names are fixed, so a
// shared broker would mix scenarios), a database with the catalog, the four services as processes,
// and the end-of-run checks with their printed figures.
import { randomUUID } from "node:crypto";
import { type RestartableKafka, startRestartableKafka } from "@bridge/local-infra";
import { createStore, type Store } from "@bridge/store";
import type { Stripe } from "@bridge/stripe-client";
import { messageIdsInTopic } from "./kafka-topics.ts";
import {
  type Accepted,
  type ClientStats,
  checkExactlyOnce,
  type DriftReport,
  type ExactlyOnceReport,
  loadDemoCatalog,
  logSummary,
  printFigures,
  reconcileAll,
  type StoreProgress,
  type StripeRequestFigures,
  stripeRequestFigures,
  testStripe,
  waitUntilSettled,
} from "./orders.ts";
import { type BridgeServices, metricSum, type ServicesOptions, startBridgeServices } from "./services.ts";

/**
 * Env that makes 500 orders take seconds: the writer's limiter at 200 req/s, the emulator's limit
 * off, the gateway's Retry-After at 1 s. The sync-consumer has no rate setting: its limiter
 * defaults to 25 req/s for `sk_test_` keys and 100 for live ones, so it gets a live-shaped key
 * (the emulator serves every key the same data; nothing reaches real Stripe).
 */
const fastEnv: NonNullable<ServicesOptions["env"]> = {
  // The fault scenarios are about faults, not Stripe's limits (issue 15's benchmark measures those).
  emulator: { STRIPE_EMULATOR_RATE_LIMIT: "0", STRIPE_EMULATOR_ENDPOINT_RATE_LIMIT: "0" },
  gateway: { RETRY_AFTER_SECONDS: "1", KAFKA_PUBLISH_TIMEOUT_MS: "3000" },
  writer: { STRIPE_RATE_LIMIT_PER_SECOND: "200" },
  sync: { STRIPE_SECRET_KEY: "sk_live_emulator_only_fault_tests" },
};

export type Scenario = {
  kafka: RestartableKafka;
  services: BridgeServices;
  databaseUrl: string;
  store: Store;
  stripe: Stripe;
  run: string;
  stop(): Promise<void>;
};

export async function startScenario(options: {
  databaseUrl: string;
  kafka?: RestartableKafka;
  env?: ServicesOptions["env"];
}): Promise<Scenario> {
  const kafka = options.kafka ?? (await startRestartableKafka({ log: () => {} }));
  let services: BridgeServices | undefined;
  try {
    await loadDemoCatalog(options.databaseUrl);
    const env: NonNullable<ServicesOptions["env"]> = {};
    for (const name of ["emulator", "gateway", "writer", "sync"] as const)
      env[name] = { ...fastEnv[name], ...options.env?.[name] };
    services = await startBridgeServices({
      kafkaBrokers: kafka.brokers,
      databaseUrl: options.databaseUrl,
      env,
    });
  } catch (error) {
    await kafka.dispose();
    throw error;
  }
  const store = createStore(options.databaseUrl, { poolSize: 4 });
  const running = services;
  let stopped: Promise<void> | undefined;
  return {
    kafka,
    services: running,
    databaseUrl: options.databaseUrl,
    store,
    stripe: testStripe(running.stripeApiUrl),
    run: randomUUID().slice(0, 8),
    stop() {
      stopped ??= (async () => {
        await running.stop();
        await store.close().catch(() => undefined);
        await kafka.dispose();
      })();
      return stopped;
    },
  };
}

export type EndState = {
  progress: StoreProgress;
  exactlyOnce: ExactlyOnceReport;
  drift: DriftReport;
  settleSeconds: number;
  stripe: StripeRequestFigures;
};

/**
 * Waits until every accepted order is applied, linked and synced, then checks exactly-once in
 * Stripe and the store, reconciles every subscription, and prints the figures.
 */
export async function checkEndState(
  scenario: Scenario,
  name: string,
  accepted: Accepted[],
  figures: {
    started: number;
    client?: ClientStats;
    extra?: Record<string, unknown>;
    settleTimeoutMs?: number;
    /** Runs once everything settled, before the checks (e.g. turn injected faults off). */
    afterSettled?: () => Promise<void>;
  },
): Promise<EndState> {
  const t = Date.now();
  let progress: StoreProgress;
  try {
    progress = await waitUntilSettled(
      scenario.store,
      accepted.map((o) => o.orderId),
      figures.settleTimeoutMs ?? 240_000,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${await diagnoseMissing(scenario, accepted)}`);
  }
  const settleSeconds = (Date.now() - t) / 1000;
  // The request log up to here: the run itself, before the checks add their own reads.
  const stripe = await stripeRequestFigures(scenario.services.stripeApiUrl);
  await figures.afterSettled?.();
  const exactlyOnce = await checkExactlyOnce(scenario.stripe, scenario.store, accepted);
  const drift = await reconcileAll(
    scenario.databaseUrl,
    scenario.services.stripeApiUrl,
    accepted.map((o) => o.subscriptionId),
  );
  const [writerMetrics, syncMetrics] = await Promise.all([
    scenario.services.metrics("writer").catch(() => ""),
    scenario.services.metrics("sync").catch(() => ""),
  ]);
  const client = figures.client;
  printFigures(name, {
    orders: accepted.length,
    wallSeconds: ((Date.now() - figures.started) / 1000).toFixed(1),
    restarts: scenario.services.restarts,
    kafkaStarts: scenario.kafka.starts,
    crashes: scenario.services.unexpectedExits.length,
    ...(client
      ? {
          clientAttempts: client.attempts,
          clientRetries503: client.retries503,
          clientRetriesOther: client.retriesOther,
          retryAfterWaitedS: (client.retryAfterWaitMs / 1000).toFixed(0),
          statuses: client.statuses,
        }
      : {}),
    // Since each service's last start (counters live in the process).
    writerRetries: metricSum(writerMetrics, "messaging_messages_retried_total"),
    syncRetries: metricSum(syncMetrics, "messaging_messages_retried_total"),
    deadLettered:
      metricSum(writerMetrics, "messaging_messages_dead_lettered_total") +
      metricSum(syncMetrics, "messaging_messages_dead_lettered_total"),
    stripeRequests: stripe.requests,
    stripeInjected500: stripe.injected500,
    stripeInjected429: stripe.injected429,
    duplicatesPrevented: {
      gatewayResubmissions: client?.resubmitted ?? 0,
      stripeIdempotentReplays: stripe.idempotentReplays,
      stripeWritesRetriedWithTheirKey: stripe.keyedRetries,
    },
    stripeSubscriptions: exactlyOnce.stripeSubscriptions,
    exactlyOnceProblems: exactlyOnce.problems.length,
    reconciled: drift.checked,
    drift: drift.drifted.length,
    driftFirstPass: drift.firstPassDrift,
    settleSeconds: settleSeconds.toFixed(1),
    ...figures.extra,
  });
  return { progress, exactlyOnce, drift, settleSeconds, stripe };
}

/**
 * For a run that did not settle: the accepted orders the writer never recorded, and whether
 * each is in limio.orders.v1 at all (an order the gateway answered 2xx for must be there).
 */
async function diagnoseMissing(scenario: Scenario, accepted: Accepted[]): Promise<string> {
  try {
    const recorded = new Set(
      (
        await scenario.store.db.order.findMany({
          where: { id: { in: accepted.map((o) => o.orderId) } },
          select: { id: true },
        })
      ).map((o) => o.id),
    );
    const missing = accepted.filter((o) => !recorded.has(o.orderId));
    if (missing.length === 0) {
      const unfinished = await scenario.store.db.order.findMany({
        where: { id: { in: accepted.map((o) => o.orderId) }, status: { in: ["queued", "processing"] } },
        select: { id: true, type: true, status: true },
      });
      return (
        `every accepted order was recorded by the writer; not finished: ${JSON.stringify(unfinished)}` +
        `\nthe writer's most frequent warnings and errors:\n${logSummary(scenario.services.output("writer"))}`
      );
    }
    const inTopic = await messageIdsInTopic(scenario.kafka.brokers, "limio.orders.v1");
    const lost = missing.filter((o) => !inTopic.has(o.orderId));
    return (
      `${missing.length} accepted orders never recorded by the writer; ${lost.length} of them are not in ` +
      `limio.orders.v1 at all (answered 2xx by the gateway, never in Kafka): ` +
      `${lost
        .slice(0, 10)
        .map((o) => o.orderId)
        .join(
          ", ",
        )}\nthe gateway's most frequent warnings and errors:\n${logSummary(scenario.services.output("gateway"))}` +
      `\nthe writer's:\n${logSummary(scenario.services.output("writer"))}`
    );
  } catch (error) {
    return `(diagnosis failed: ${(error as Error).message})`;
  }
}
