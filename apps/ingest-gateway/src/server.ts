import { hostname } from "node:os";
import {
  bridgeTopicSpecs,
  createKafkaClient,
  createProducer,
  ensureTopics,
  type TopicSpec,
  topicWithCompanions,
} from "@bridge/messaging";
import { createLogger, createMetrics, type Logger } from "@bridge/observability";
import { createStore, stripeBudgetStore } from "@bridge/store";
import { createStripeClient } from "@bridge/stripe-client";
import type { FastifyInstance } from "fastify";
import { buildGateway } from "./app.ts";
import { type GatewayConfig, gatewayStoreOptions } from "./config.ts";
import { type GatewayTopics, resolveTopics } from "./deps.ts";
import { startOutcomeWaiter } from "./outcome-waiter.ts";
import { previewBudget, requestBoundLimiter } from "./preview-budget.ts";

export type RunningGateway = {
  app: FastifyInstance;
  url: string;
  /**
   * Graceful stop: no new connections, in-flight requests finish (each bounded by the publish
   * timeout and WAIT_TIMEOUT_MS), then the outcome consumer, the producer and the store close.
   */
  shutdown(): Promise<void>;
};

/** Wires and starts the gateway: topics at boot, producer, store, outcome consumer, HTTP listener. */
export async function startGateway(
  config: GatewayConfig,
  options: { logger?: Logger; topics?: Partial<GatewayTopics> } = {},
): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger("ingest-gateway", { level: config.LOG_LEVEL });
  const metrics = createMetrics("ingest-gateway");
  const topics = resolveTopics(options.topics);
  const kafka = createKafkaClient({
    brokers: config.KAFKA_BROKERS,
    clientId: `ingest-gateway-${hostname()}`,
    logger,
  });
  const specs: TopicSpec[] = options.topics
    ? Object.values(topics).flatMap((topic) =>
        topicWithCompanions(topic, { partitions: config.KAFKA_TOPIC_PARTITIONS }),
      )
    : bridgeTopicSpecs({ partitions: config.KAFKA_TOPIC_PARTITIONS });
  await ensureTopics(kafka, specs);
  const producer = createProducer(kafka, {
    publishTimeoutMs: config.KAFKA_PUBLISH_TIMEOUT_MS,
    registry: metrics.registry,
  });
  await producer.connect();
  const store = createStore(config.DATABASE_URL, gatewayStoreOptions(config));
  const outcomes = await startOutcomeWaiter(kafka, { topic: topics.orderOutcomes, logger });
  // Previews take from the account's budget below orders, each wait bounded by its request.
  const budget = config.STRIPE_SECRET_KEY
    ? previewBudget(
        config.STRIPE_SECRET_KEY,
        (id) => stripeBudgetStore(store.db, id),
        config.STRIPE_RATE_LIMIT_PER_SECOND,
      )
    : undefined;
  const stripe = config.STRIPE_SECRET_KEY
    ? createStripeClient({
        secretKey: config.STRIPE_SECRET_KEY,
        apiUrl: config.STRIPE_API_URL,
        limiter: budget && requestBoundLimiter(budget, { maxWaiting: config.PREVIEW_MAX_WAITING }),
        registry: metrics.registry,
      }).stripe
    : undefined;
  const app = await buildGateway({
    config,
    logger,
    producer,
    store,
    outcomes,
    metrics,
    topics,
    ...(stripe ? { stripe } : {}),
  });
  const url = await app.listen({ port: config.PORT, host: config.HOST });
  logger.info({ url }, "ingest-gateway listening");

  let stopping: Promise<void> | undefined;
  return {
    app,
    url,
    shutdown() {
      stopping ??= (async () => {
        await app.close();
        await outcomes.stop();
        await producer.disconnect();
        await budget?.close();
        await store.close();
      })();
      return stopping;
    },
  };
}
