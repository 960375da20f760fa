import { closeGracefully, createKafkaClient, ensureTopics, topicWithCompanions } from "@bridge/messaging";
import { createLogger, createMetrics, startOpsServer } from "@bridge/observability";
import { createStore, stripeBudgetStore } from "@bridge/store";
import { accountBudget, createStripeClient } from "@bridge/stripe-client";
import { loadConfig } from "./config.ts";
import { phaseTimer, startSyncConsumer } from "./wiring.ts";

const config = loadConfig();
const logger = createLogger("sync-consumer", { level: config.LOG_LEVEL });
const metrics = createMetrics("sync-consumer");
const store = createStore(config.DATABASE_URL);
const kafka = createKafkaClient({ brokers: config.KAFKA_BROKERS, clientId: "sync-consumer", logger });
// Background work: it leaves a reserve of the account's budget to orders (decision 016).
const budget = accountBudget(
  config.STRIPE_SECRET_KEY,
  "background",
  (id) => stripeBudgetStore(store.db, id),
  config.STRIPE_RATE_LIMIT_PER_SECOND,
);
const budgetWait = phaseTimer(metrics.registry);
const { stripe } = createStripeClient({
  secretKey: config.STRIPE_SECRET_KEY,
  limiter: {
    ratePerSecond: budget.ratePerSecond,
    acquire: async () => {
      const stop = budgetWait("budget_wait");
      await budget.acquire();
      stop();
    },
  },
  apiUrl: config.STRIPE_API_URL,
  registry: metrics.registry,
});

const topics = {
  stripeEvents: config.TOPIC_STRIPE_EVENTS,
  sync: config.TOPIC_SYNC,
  orderOutcomes: config.TOPIC_ORDER_OUTCOMES,
  subscriptionChanges: config.TOPIC_SUBSCRIPTION_CHANGES,
};
await ensureTopics(
  kafka,
  Object.values(topics).flatMap((topic) =>
    topicWithCompanions(topic, { partitions: config.KAFKA_TOPIC_PARTITIONS }),
  ),
);

if (config.CALLBACK_URL && !config.CALLBACK_SECRET) {
  throw new Error("CALLBACK_URL needs CALLBACK_SECRET (callbacks are never sent unsigned)");
}
const consumer = await startSyncConsumer({
  kafka,
  store,
  stripe,
  logger,
  registry: metrics.registry,
  groupId: config.KAFKA_GROUP_ID,
  topics,
  concurrency: config.PARTITION_CONCURRENCY,
  coalesce: config.SYNC_COALESCE,
  coalesceSettleMs: config.SYNC_COALESCE_SETTLE_MS,
  kafkaGauges: true,
  changeRelay: {
    pollIntervalMs: config.CHANGE_RELAY_POLL_MS,
    retention: { keepMs: config.CHANGE_EVENT_RETENTION_HOURS * 3_600_000 },
  },
  ...(config.CALLBACK_URL && config.CALLBACK_SECRET
    ? { callback: { url: config.CALLBACK_URL, secret: config.CALLBACK_SECRET } }
    : {}),
});
const ops = await startOpsServer({
  port: config.OPS_PORT,
  host: config.OPS_HOST,
  metrics,
  readiness: async () => ({ database: await store.ping(), kafka: await consumer.kafkaReachable() }),
});
logger.info({ opsPort: ops.port }, "sync-consumer started");

closeGracefully(
  [{ stop: () => ops.close() }, consumer, { stop: () => budget.close() }, { stop: () => store.close() }],
  logger,
);
