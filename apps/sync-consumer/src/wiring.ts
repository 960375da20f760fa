import {
  topics as bridgeTopics,
  createOffsetReader,
  dlqTopicOf,
  type KafkaClient,
  type RetryOptions,
  type RunningConsumer,
  registerConsumerGauges,
  startConsumer,
} from "@bridge/messaging";
import type { Logger } from "@bridge/observability";
import { deferredInbox, type Store } from "@bridge/store";
import type { Stripe } from "@bridge/stripe-client";
import {
  type ChangeRelayOptions,
  CONSUMER,
  type Coalescer,
  createCoalescer,
  createSyncMetrics,
  noCoalescing,
  nudgingStore,
  type SyncDeps,
  type SyncMetrics,
  syncErrorClass,
} from "@bridge/sync-core";
import { Histogram, type Registry } from "prom-client";
import { startChangeEvents } from "./change-events.ts";
import { type HandlerHooks, syncHandlers } from "./handlers/index.ts";
import { partitionKeyOf } from "./handlers/stripe-event.ts";
import { startOrderOutcomeCallback } from "./order-outcome-callback.ts";

export type SyncTopics = {
  stripeEvents: string;
  sync: string;
  orderOutcomes: string;
  subscriptionChanges: string;
};

/**
 * How the sync retries a failed message: a few quick in-place attempts (a lock timeout, a Stripe
 * 5xx), then three rounds through `<topic>.retry` spaced 5 s, 10 s, 20 s (an order outcome whose
 * Order row is not visible yet, a Stripe outage), then the DLQ for an operator to re-drive.
 */
export const syncRetryPolicy: RetryOptions = { attempts: 3, retryRounds: 3, retryTopicDelayMs: 5_000 };

export type SyncConsumerOptions = {
  kafka: KafkaClient;
  store: Store;
  stripe: Stripe;
  logger: Logger;
  registry: Registry;
  groupId?: string;
  topics?: Partial<SyncTopics>;
  concurrency?: number;
  /** Replaces parts of `syncRetryPolicy` (tests shorten the delays). */
  retry?: RetryOptions;
  /** Burst coalescing on (default) or off (every Stripe event refetches). */
  coalesce?: boolean;
  /** How long after its event reached Kafka a sync waits for the rest of the burst (default 0). */
  coalesceSettleMs?: number;
  /** Register the lag / DLQ gauges (once per registry). */
  kafkaGauges?: boolean;
  hooks?: HandlerHooks;
  /** The change-event relay's poll interval and test seams. */
  changeRelay?: Pick<ChangeRelayOptions, "pollIntervalMs" | "hooks" | "retention">;
  /** The optional signed order-outcome callback (its own consumer group). */
  callback?: { url: string; secret: string; groupId?: string; retry?: RetryOptions };
  exit?: (code: number) => void;
  now?: () => Date;
};

export type RunningSyncConsumer = RunningConsumer & {
  metrics: SyncMetrics;
  topics: SyncTopics;
  /** Can the cluster be reached (readiness)? */
  kafkaReachable(): Promise<boolean>;
};

/** The consumer group `sync-consumer` on stripe.events.v1, limio.sync.v1, limio.order-outcomes.v1. */
export async function startSyncConsumer(options: SyncConsumerOptions): Promise<RunningSyncConsumer> {
  const topics: SyncTopics = {
    stripeEvents: options.topics?.stripeEvents ?? bridgeTopics.stripeEvents,
    sync: options.topics?.sync ?? bridgeTopics.sync,
    orderOutcomes: options.topics?.orderOutcomes ?? bridgeTopics.orderOutcomes,
    subscriptionChanges: options.topics?.subscriptionChanges ?? bridgeTopics.subscriptionChanges,
  };
  const groupId = options.groupId ?? "sync-consumer";
  const metrics = createSyncMetrics(options.registry);
  const offsets = createOffsetReader(options.kafka);
  const relay = await startChangeEvents({
    kafka: options.kafka,
    store: options.store,
    logger: options.logger,
    registry: options.registry,
    topic: topics.subscriptionChanges,
    backlogGauge: options.kafkaGauges === true,
    ...options.changeRelay,
  });
  const phases = phaseTimer(options.registry);
  const deps: SyncDeps = {
    // Every sync commit nudges the relay: its change events go out without waiting for a poll.
    store: timedStore(nudgingStore(options.store, relay.nudge), phases),
    stripe: options.stripe,
    logger: options.logger,
    metrics,
    coalescer: timedCoalescer(
      options.coalesce === false
        ? noCoalescing
        : createCoalescer(offsets, { settleMs: options.coalesceSettleMs ?? 0 }),
      phases,
    ),
    ...(options.now ? { now: options.now } : {}),
  };
  const inputs = [topics.orderOutcomes, topics.sync, topics.stripeEvents];
  // Inbox rows of events with no other effect: one INSERT per batch and partition (decision 027).
  const deferred = deferredInbox(options.store.db, CONSUMER);
  if (options.kafkaGauges) {
    registerConsumerGauges(options.registry, offsets, {
      lagMetric: "sync_consumer_lag",
      dlqMetric: "sync_dlq_messages",
      groupId,
      topics: inputs,
      dlqTopics: inputs.map(dlqTopicOf),
    });
  }
  const consumer = await startConsumer(options.kafka, {
    groupId,
    topics: inputs,
    handlers: syncHandlers(deps, options.hooks, deferred),
    commitPerBatch: { beforeCommit: (topic, partition) => deferred.flush(partitionKeyOf(topic, partition)) },
    concurrency: options.concurrency ?? 4,
    retry: { ...syncRetryPolicy, ...options.retry },
    classifyError: syncErrorClass,
    registry: options.registry,
    logger: options.logger,
    ...(options.exit ? { exit: options.exit } : {}),
  });
  const callback = options.callback
    ? await startOrderOutcomeCallback({
        kafka: options.kafka,
        store: options.store,
        logger: options.logger,
        registry: options.registry,
        topic: topics.orderOutcomes,
        ...options.callback,
      })
    : undefined;
  return {
    metrics,
    topics,
    kafkaReachable: () => offsets.reachable(),
    async stop() {
      await consumer.stop();
      await callback?.stop();
      await relay.stop();
      await offsets.close();
    },
  };
}

/**
 * Where a handler's time goes, beyond what the runtime (messaging_handle_duration_seconds) and the
 * Stripe client (stripe_request_duration_seconds) measure: `settle` (reading the log position, and
 * the settle wait for the rest of a burst), `serialise_wait` (waiting for another partition's sync
 * of the same subscription here), `transaction` (a sync's or an inbox row's transaction, Stripe
 * reads included), and `budget_wait` (the shared Stripe budget, registered by main.ts).
 */
export type PhaseTimer = (phase: "settle" | "serialise_wait" | "transaction" | "budget_wait") => () => void;

export function phaseTimer(registry: Registry): PhaseTimer {
  const name = "sync_phase_duration_seconds";
  const histogram =
    (registry.getSingleMetric(name) as Histogram<"phase"> | undefined) ??
    new Histogram({
      name,
      help: "Time spent in each phase of handling a message (see wiring.ts)",
      labelNames: ["phase"],
      buckets: [0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  return (phase) => histogram.startTimer({ phase });
}

async function timed<T>(stop: () => void, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } finally {
    stop();
  }
}

function timedStore(store: Store, phases: PhaseTimer): Store {
  return {
    ...store,
    transaction: (work, options) => timed(phases("transaction"), store.transaction(work, options)),
  };
}

function timedCoalescer(coalescer: Coalescer, phases: PhaseTimer): Coalescer {
  return {
    ...coalescer,
    snapshot: (...args) => timed(phases("settle"), coalescer.snapshot(...args)),
    serialise: (topic, ids, work) => {
      const stop = phases("serialise_wait");
      return coalescer.serialise(topic, ids, () => {
        stop();
        return work();
      });
    },
  };
}
