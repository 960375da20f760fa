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
  createCoalescer,
  createSyncMetrics,
  noCoalescing,
  nudgingStore,
  type SyncDeps,
  type SyncMetrics,
  syncErrorClass,
} from "@bridge/sync-core";
import type { Registry } from "prom-client";
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
  const deps: SyncDeps = {
    // Every sync commit nudges the relay: its change events go out without waiting for a poll.
    store: nudgingStore(options.store, relay.nudge),
    stripe: options.stripe,
    logger: options.logger,
    metrics,
    coalescer:
      options.coalesce === false
        ? noCoalescing
        : createCoalescer(offsets, { settleMs: options.coalesceSettleMs ?? 0 }),
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
