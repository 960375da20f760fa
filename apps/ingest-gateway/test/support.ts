// Helpers for this app's tests (imported by *.test.ts only).
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Envelope } from "@bridge/domain";
import { demoCatalogUrl } from "@bridge/domain";
import { freshDatabase, freshTopic, kafkaBrokers, uniqueName, until } from "@bridge/local-infra/testing";
import { createKafkaClient, createProducer, type KafkaClient, type MessageProducer } from "@bridge/messaging";
import { createLogger, createMetrics, type Metrics } from "@bridge/observability";
import { createStore, loadCatalog, type Store } from "@bridge/store";
import type { FastifyInstance } from "fastify";
import { buildGateway } from "../src/app.ts";
import { type GatewayConfig, gatewayStoreOptions, loadConfig } from "../src/config.ts";
import type { GatewayDeps, GatewayTopics } from "../src/deps.ts";
import type { OrderOutcomeWaiter } from "../src/outcome-waiter.ts";

export const keys = {
  shop: "shop-key-0123456789abcdef",
  ops: "ops-key-0123456789abcdef",
  reader: "reader-key-0123456789abcdef",
  all: "all-key-0123456789abcdef",
};
export const webhookSecrets = {
  current: "whsec_current_test_secret",
  previous: "whsec_previous_test_secret",
};

export function testConfig(overrides: Record<string, string> = {}): GatewayConfig {
  return loadConfig({
    KAFKA_BROKERS: "127.0.0.1:9092",
    DATABASE_URL: "postgresql://bridge:bridge@127.0.0.1:5432/bridge",
    API_KEYS: `shop:${keys.shop}:orders,ops:${keys.ops}:sync,reader:${keys.reader}:read,all:${keys.all}:orders+sync+read`,
    STRIPE_WEBHOOK_SECRETS: `${webhookSecrets.current},${webhookSecrets.previous}`,
    WAIT_TIMEOUT_MS: "3000",
    KAFKA_PUBLISH_TIMEOUT_MS: "1500",
    LOG_LEVEL: "silent",
    ...overrides,
  });
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

export function testClient(name = "gateway-test", brokers = kafkaBrokers()): KafkaClient {
  return createKafkaClient({
    brokers,
    clientId: name,
    logger: createLogger(name, { level: process.env.TEST_LOG_LEVEL ?? "silent" }),
    connectionTimeoutMs: 500,
    retries: 1,
  });
}

/**
 * A fresh topic; retried when kafkajs' wait for its leader fails with UNKNOWN_TOPIC_OR_PARTITION,
 * which happens to the first topics created right after the run's broker started.
 */
async function freshTopicRetried(prefix: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await freshTopic(prefix);
    } catch (error) {
      if (attempt >= 10 || (error as { type?: string }).type !== "UNKNOWN_TOPIC_OR_PARTITION") throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

export async function freshTopics(): Promise<GatewayTopics> {
  const [orders, stripeEvents, sync, orderOutcomes] = await Promise.all([
    freshTopicRetried("gw-orders"),
    freshTopicRetried("gw-stripe-events"),
    freshTopicRetried("gw-sync"),
    freshTopicRetried("gw-outcomes"),
  ]);
  return { orders, stripeEvents, sync, orderOutcomes };
}

export type ReadMessage = { key: string | null; envelope: Envelope; headers: Record<string, string> };

/** Reads a topic from the beginning into `messages` for as long as the file runs. */
export async function startTopicReader(client: KafkaClient, topic: string) {
  const messages: ReadMessage[] = [];
  const consumer = client.kafka.consumer({ groupId: uniqueName("gw-reader"), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
      messages.push({
        key: message.key?.toString() ?? null,
        envelope: JSON.parse(message.value?.toString() ?? "null") as Envelope,
        headers,
      });
    },
  });
  return {
    messages,
    /** Waits until a message matching `match` was read. */
    async find(match: (m: ReadMessage) => boolean, timeoutMs = 20_000): Promise<ReadMessage> {
      await until(() => messages.some(match), timeoutMs, `a message on ${topic}`);
      return messages.find(match)!;
    },
    stop: () => consumer.disconnect(),
  };
}

/** Messages ever written to a topic (sum of high watermarks): proves "nothing was published". */
export async function topicMessageCount(client: KafkaClient, topic: string): Promise<number> {
  const admin = client.kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

export { until };

export type TestGateway = {
  app: FastifyInstance;
  topics: GatewayTopics;
  store: Store;
  client: KafkaClient;
  producer: MessageProducer;
  metrics: Metrics;
  close(): Promise<void>;
};

/** A gateway on the run's real broker and a fresh migrated database, with this file's own topics. */
export async function startTestGateway(
  options: {
    config?: Record<string, string>;
    topics?: GatewayTopics;
    databaseUrl?: string;
    outcomes?: OrderOutcomeWaiter;
    brokers?: string[];
    stripe?: GatewayDeps["stripe"];
  } = {},
): Promise<TestGateway> {
  const topics = options.topics ?? (await freshTopics());
  const config = testConfig(options.config);
  const store = createStore(
    options.databaseUrl ?? (await freshDatabase("gateway")),
    gatewayStoreOptions(config),
  );
  // A fresh database gets the demo catalog: orders naming an offer version (new.json) need it.
  if (!options.databaseUrl) await loadCatalog(store.db, JSON.parse(await readFile(demoCatalogUrl, "utf8")));
  const client = testClient("gateway-test", options.brokers);
  const producer = createProducer(client, { publishTimeoutMs: config.KAFKA_PUBLISH_TIMEOUT_MS });
  const metrics = createMetrics("ingest-gateway-test", { defaultMetrics: false });
  const app = await buildGateway({
    config,
    logger: createLogger("gateway-test", { level: process.env.TEST_LOG_LEVEL ?? "silent" }),
    producer,
    store,
    topics,
    metrics,
    syncPollIntervalMs: 20,
    ...(options.outcomes ? { outcomes: options.outcomes } : {}),
    ...(options.stripe ? { stripe: options.stripe } : {}),
  });
  await app.ready();
  return {
    app,
    topics,
    store,
    client,
    producer,
    metrics,
    async close() {
      await app.close();
      await producer.disconnect().catch(() => {});
      await store.close();
    },
  };
}

/** A customer and a subscription in the Limio store, as the sync-consumer would have recorded them. */
export async function seedSubscription(
  store: Store,
  overrides: { id?: string; reference?: string; origin?: "limio" | "external" } = {},
) {
  const hex = () => randomUUID().replaceAll("-", "");
  const customer = await store.db.customer.create({
    data: {
      id: `cus-${hex()}`,
      email: `ada+${hex().slice(0, 6)}@example.com`,
      firstName: "Ada",
      lastName: "Lovelace",
    },
  });
  return store.db.subscription.create({
    data: {
      id: overrides.id ?? `sub-${hex()}`,
      reference: overrides.reference ?? hex().slice(0, 12).toUpperCase(),
      customerId: customer.id,
      status: "active",
      source: "shop",
      origin: overrides.origin ?? "limio",
      stripeCustomerId: `cus_${hex().slice(0, 14)}`,
      stripeSubscriptionId: `sub_${hex().slice(0, 14)}`,
    },
  });
}
