import {
  topics as bridgeTopics,
  dlqTopicOf,
  type KafkaClient,
  type RetryOptions,
  type RunningConsumer,
  startConsumer,
} from "@bridge/messaging";
import type { Logger } from "@bridge/observability";
import type { Store } from "@bridge/store";
import type { Stripe } from "@bridge/stripe-client";
import type { Registry } from "prom-client";
import type { SyncTopics } from "./deps.ts";
import { type HandlerHooks, syncHandlers } from "./handlers/index.ts";
import { createSyncMetrics, registerKafkaGauges, type SyncMetrics } from "./metrics.ts";
import { createCoalescer } from "./sync/coalescer.ts";

export type SyncConsumerOptions = {
  kafka: KafkaClient;
  store: Store;
  stripe: Stripe;
  logger: Logger;
  registry: Registry;
  groupId?: string;
  topics?: Partial<SyncTopics>;
  concurrency?: number;
  retry?: RetryOptions;
  /** Burst coalescing on (default) or off (every Stripe event refetches). */
  coalesce?: boolean;
  /** Register the lag / DLQ gauges (once per registry). */
  kafkaGauges?: boolean;
  hooks?: HandlerHooks;
  exit?: (code: number) => void;
  now?: () => Date;
};

export type RunningSyncConsumer = RunningConsumer & { metrics: SyncMetrics; topics: SyncTopics };

/** The consumer group `sync-consumer` on stripe.events.v1, limio.sync.v1, limio.order-outcomes.v1. */
export async function startSyncConsumer(options: SyncConsumerOptions): Promise<RunningSyncConsumer> {
  const topics: SyncTopics = {
    stripeEvents: options.topics?.stripeEvents ?? bridgeTopics.stripeEvents,
    sync: options.topics?.sync ?? bridgeTopics.sync,
    orderOutcomes: options.topics?.orderOutcomes ?? bridgeTopics.orderOutcomes,
  };
  const groupId = options.groupId ?? "sync-consumer";
  const metrics = createSyncMetrics(options.registry);
  const coalescer = createCoalescer(options.coalesce === false ? undefined : options.kafka);
  const deps = {
    store: options.store,
    stripe: options.stripe,
    logger: options.logger,
    metrics,
    coalescer,
    ...(options.now ? { now: options.now } : {}),
  };
  const inputs = [topics.orderOutcomes, topics.sync, topics.stripeEvents];
  const gauges = options.kafkaGauges
    ? registerKafkaGauges(options.registry, options.kafka, {
        groupId,
        topics: inputs,
        dlqTopics: inputs.map(dlqTopicOf),
      })
    : undefined;
  const consumer = await startConsumer(options.kafka, {
    groupId,
    topics: inputs,
    handlers: syncHandlers(deps, options.hooks),
    concurrency: options.concurrency ?? 4,
    registry: options.registry,
    logger: options.logger,
    ...(options.retry ? { retry: options.retry } : {}),
    ...(options.exit ? { exit: options.exit } : {}),
  });
  return {
    metrics,
    topics,
    async stop() {
      await consumer.stop();
      await coalescer.close();
      await gauges?.close();
    },
  };
}
