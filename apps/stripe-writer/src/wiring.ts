import {
  bridgeTopicSpecs,
  topics as bridgeTopics,
  createKafkaClient,
  createProducer,
  ensureTopics,
  type RetryOptions,
  type RunningConsumer,
  startConsumer,
  type TopicSpec,
  topicWithCompanions,
} from "@bridge/messaging";
import { createLogger, createMetrics, type Logger, type Metrics } from "@bridge/observability";
import { createStore, type Store, secretKeyFrom, stripeBudgetStore } from "@bridge/store";
import { accountBudget, budgetIdFor, createStripeClient } from "@bridge/stripe-client";
import type { WriterConfig } from "./config.ts";
import type { WriterTopics } from "./context.ts";
import { crashHookFor, parseCrashPoint } from "./crash.ts";
import { writerErrorClass } from "./failures.ts";
import { writerHandlers } from "./handlers/index.ts";
import { type Hooks, loadHooks } from "./hooks.ts";
import { createStripeLookups } from "./lookups.ts";

/**
 * How the writer retries an order that failed for a passing reason (Stripe 5xx or 429, a lock
 * timeout, a subscription not linked yet): five in-place attempts with backoff (honouring
 * Retry-After), then four rounds through `<topic>.retry` spaced 5 s, 10 s, 20 s, 40 s, then the
 * DLQ. A new order makes a dozen Stripe calls; with Stripe failing one call in five (the fault
 * scenario), three by three left about one order in a hundred in the DLQ without an outcome.
 * Every Stripe write carries the step's idempotency key, so a retry never repeats an effect.
 */
const writerRetryPolicy: RetryOptions = { attempts: 5, retryRounds: 4, retryTopicDelayMs: 5_000 };

/** Topic names with the configured prefix (empty in production). */
export function writerTopics(prefix: string): WriterTopics {
  return {
    orders: `${prefix}${bridgeTopics.orders}`,
    stripeEvents: `${prefix}${bridgeTopics.stripeEvents}`,
    orderOutcomes: `${prefix}${bridgeTopics.orderOutcomes}`,
  };
}

function topicSpecs(prefix: string, partitions: number): TopicSpec[] {
  if (prefix === "") return bridgeTopicSpecs({ partitions });
  return Object.values(writerTopics(prefix)).flatMap((topic) => topicWithCompanions(topic, { partitions }));
}

export type WriterService = {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  topics: WriterTopics;
  hooks: Hooks;
  ready(): Promise<Record<string, boolean>>;
  /** Stops the consumer (in-flight orders finish), then the producer and the store. */
  stop(): Promise<void>;
  consumer: RunningConsumer;
};

/** The writer's moving parts, for main.ts and in-process tests. */
export async function startWriterService(
  config: WriterConfig,
  overrides: { logger?: Logger; metrics?: Metrics; hooks?: Hooks; exit?: (code: number) => void } = {},
): Promise<WriterService> {
  const logger = overrides.logger ?? createLogger("stripe-writer", { level: config.LOG_LEVEL });
  const metrics = overrides.metrics ?? createMetrics("stripe-writer");
  const hooks = overrides.hooks ?? (await loadHooks(config.HOOK_MODULES));
  const store = createStore(config.DATABASE_URL);
  // Orders take from the account's budget first (decision 016): replicas never add up past Stripe's limit.
  const budget = accountBudget(
    config.STRIPE_SECRET_KEY,
    "orders",
    (id) => stripeBudgetStore(store.db, id),
    config.STRIPE_RATE_LIMIT_PER_SECOND,
  );
  const { stripe } = createStripeClient({
    secretKey: config.STRIPE_SECRET_KEY,
    apiUrl: config.STRIPE_API_URL,
    limiter: budget,
    maxNetworkRetries: config.STRIPE_MAX_NETWORK_RETRIES,
    registry: metrics.registry,
  });
  const topics = writerTopics(config.KAFKA_TOPIC_PREFIX);
  const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: "stripe-writer", logger });
  await ensureTopics(kafka, topicSpecs(config.KAFKA_TOPIC_PREFIX, config.KAFKA_TOPIC_PARTITIONS));
  const producer = createProducer(kafka, { registry: metrics.registry });
  await producer.connect();
  const handlers = writerHandlers({
    db: store.db,
    stripe,
    producer,
    topics,
    hooks,
    lookups: createStripeLookups(stripe, {
      maxEntries: config.STRIPE_CACHE_SIZE,
      stripeAccount: budgetIdFor(config.STRIPE_SECRET_KEY),
    }),
    logger,
    registry: metrics.registry,
    crash: crashHookFor(parseCrashPoint(config.WRITER_CRASH_AT)),
    orderSecretKey: config.ORDER_SECRET_KEY ? secretKeyFrom(config.ORDER_SECRET_KEY) : undefined,
    defaultAddressType: config.WRITER_DEFAULT_ADDRESS_TYPE,
  });
  const consumer = await startConsumer(kafka, {
    groupId: config.KAFKA_GROUP_ID,
    topics: [topics.orders, topics.stripeEvents],
    handlers,
    onUnhandledType: "skip",
    concurrency: config.PARTITION_CONCURRENCY,
    retry: writerRetryPolicy,
    classifyError: writerErrorClass,
    registry: metrics.registry,
    logger,
    ...(overrides.exit ? { exit: overrides.exit } : {}),
  });
  if (hooks.names.length > 0) logger.info({ hooks: hooks.names }, "hooks loaded");
  return {
    store,
    metrics,
    logger,
    topics,
    hooks,
    consumer,
    ready: async () => ({ database: await store.ping(), kafka: producer.isConnected() }),
    async stop() {
      await consumer.stop();
      await producer.disconnect();
      await budget.close();
      await store.close();
    },
  };
}
