// The writer's test harness (tests and the benchmark): its wiring on prefixed topics, the emulator in-process.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { demoCatalogUrl, type Envelope, messageTypes, type OrderOutcomeV1 } from "@bridge/domain";
import {
  topics as bridgeTopics,
  consumerLag,
  createKafkaClient,
  createOffsetReader,
  createProducer,
  ensureTopics,
  type KafkaClient,
  type MessageProducer,
  type RunningConsumer,
  startConsumer,
  topicWithCompanions,
} from "@bridge/messaging";
import { createLogger, createMetrics, type Metrics } from "@bridge/observability";
import { createStore, findOrder, loadCatalog, type Store } from "@bridge/store";
import { type RunningEmulator, startEmulator } from "@bridge/testkit";
import Stripe from "stripe";
import { loadConfig, type WriterConfig } from "../src/config.ts";
import type { WriterTopics } from "../src/context.ts";
import type { Hooks } from "../src/hooks.ts";
import { startWriterService, type WriterService, writerTopics } from "../src/wiring.ts";

const TEST_KEY = "sk_test_writer";

/** Offers of packages/domain/catalog/demo-catalog.json, then of ./switch-offers.json. */
const switchOffersUrl = new URL("./switch-offers.json", import.meta.url);
export const offers = {
  digitalMonthly: "cd6ab2dcae031206d51dc28b1dbfebdb980be49f", // £9.99 / month
  digitalQuarterly: "2b697561e1088dcca00e4496a0f15691b7d9a09e", // £27 / 3 months
  digitalAnnual: "824dac9cd63e67003c26a5f14a8b70f64723c812", // £99 / year
  printDigitalMonthly: "f9a4695c077b2d1446d4fd8ebfd071b428e90899", // £24.99 / month + £4.99 once
  /** The upgrade target: a switch cannot bill a one-off charge (the domain's planSwitch refuses it). */
  printDigitalMonthlyRecurring: "6f1c0e2a9b7d4e3f8a6b1c0d2e4f6a8b0c1d3e5f", // £24.99 / month
  digitalYearlyEqual: "5e1f0c2a9b7d4e3f8a6b1c0d2e4f6a8b0c1d3e5f", // £119.88 / year = 12 × £9.99
} as const;

export const hex = (n = 32) => randomUUID().replaceAll("-", "").slice(0, n).padEnd(n, "0");
export const newOrderId = () => `order-${hex()}`;
export const newSubscriptionId = () => `sub-${hex()}`;

export function newOrder(options: {
  email: string;
  offerId?: string;
  payment?: Record<string, unknown>;
  source?: string;
  extra?: Record<string, unknown>;
}) {
  return {
    order_type: "new",
    source: options.source ?? "shop",
    orderItems: [{ offer: { id: options.offerId ?? offers.digitalMonthly }, quantity: 1 }],
    billingDetails: {
      firstName: "Ada",
      lastName: "Lovelace",
      email: options.email,
      phone: "+44 20 7946 0000",
      address1: "12 St James's Square",
      city: "London",
      postalCode: "SW1Y 4LB",
      country: "GB",
    },
    deliveryDetails: {
      firstName: "Ada",
      lastName: "Lovelace",
      address1: "1 Printing House Yard",
      city: "London",
      postalCode: "E2 7PR",
      country: "GB",
    },
    customerDetails: { firstName: "Ada", lastName: "Lovelace", email: options.email },
    payment: options.payment ?? { type: "stripe" },
    checkoutId: `basket-${randomUUID()}`,
    country: "GB",
    ...options.extra,
  };
}

export type Harness = {
  emu: RunningEmulator;
  stripe: Stripe;
  store: Store;
  databaseUrl: string;
  prefix: string;
  topics: WriterTopics;
  kafka: KafkaClient;
  producer: MessageProducer;
  /** Every message seen on the outcome and sync topics. */
  seen: { outcomes: Envelope<OrderOutcomeV1>[]; syncs: Envelope[] };
  config(overrides?: Record<string, string>): WriterConfig;
  /** The environment main.ts needs to run against this harness (child-process tests). */
  env(overrides?: Record<string, string>): Record<string, string>;
  startWriter(options?: {
    hooks?: Hooks;
    metrics?: Metrics;
    env?: Record<string, string>;
  }): Promise<WriterService>;
  publishOrder(
    order: Record<string, unknown>,
    ids?: { orderId?: string; subscriptionId?: string },
  ): Promise<{ orderId: string; subscriptionId: string; envelope: Envelope; partition: number }>;
  publishEnvelope(key: string, envelope: Envelope, topic?: string): Promise<void>;
  waitForOutcome(orderId: string, options?: { id?: string; timeoutMs?: number }): Promise<OrderOutcomeV1>;
  /** Links the Limio subscription as the sync-consumer does after a `new` outcome. */
  linkSubscription(outcome: OrderOutcomeV1, offerId: string): Promise<void>;
  /** A fresh PaymentMethod from a Stripe test token (`tok_visa`, `tok_chargeDeclined`…). */
  card(token?: string): Promise<string>;
  /** Places and links a new subscription (paid with a tok_visa card); returns its outcome. */
  subscribe(email: string, offerId: string, payment?: Record<string, unknown>): Promise<OrderOutcomeV1>;
  /**
   * Sync requests on the bridge's sync topic once the writer committed every order it read: the
   * writer publishes none (the order outcome is the one message telling the sync an order was applied).
   */
  syncRequestsAfterOrdersHandled(): Promise<number>;
  stop(): Promise<void>;
};

export async function poll<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? "a condition"}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}

export async function startHarness(options: {
  brokers: string[];
  databaseUrl: string;
  emulator?: Parameters<typeof startEmulator>[0];
  partitions?: number;
}): Promise<Harness> {
  const emu = await startEmulator({ rateLimitPerSecond: 0, ...options.emulator });
  const stripe = new Stripe(TEST_KEY, {
    host: emu.host,
    port: emu.port,
    protocol: "http",
    telemetry: false,
    maxNetworkRetries: 5,
  });
  const store = createStore(options.databaseUrl);
  await loadCatalog(store.db, JSON.parse(await readFile(demoCatalogUrl, "utf8")));
  await loadCatalog(store.db, JSON.parse(await readFile(switchOffersUrl, "utf8")));
  const prefix = `t${hex(10)}.`;
  const topics = writerTopics(prefix);
  // Not a writer topic: collected to prove the writer publishes no sync request of its own.
  const syncTopic = `${prefix}${bridgeTopics.sync}`;
  const logger = createLogger("writer-test", { level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const kafka = createKafkaClient({ brokers: options.brokers, clientId: "writer-test", logger });
  await ensureTopics(
    kafka,
    [...Object.values(topics), syncTopic].flatMap((t) =>
      topicWithCompanions(t, { partitions: options.partitions ?? 3 }),
    ),
  );
  const producer = createProducer(kafka);
  await producer.connect();
  const seen: Harness["seen"] = { outcomes: [], syncs: [] };
  const collectors: RunningConsumer[] = [
    await startConsumer(kafka, {
      groupId: `collector-${hex(8)}`,
      topics: [topics.orderOutcomes, syncTopic],
      retry: { retryTopic: false, attempts: 1 },
      onUnhandledType: "skip",
      logger,
      handlers: {
        [messageTypes.orderOutcome]: async (envelope) => {
          seen.outcomes.push(envelope as Envelope<OrderOutcomeV1>);
        },
        [messageTypes.syncRequested]: async (envelope) => {
          seen.syncs.push(envelope);
        },
      },
    }),
  ];
  const services: WriterService[] = [];

  const env = (overrides: Record<string, string> = {}): Record<string, string> => ({
    KAFKA_BROKERS: options.brokers.join(","),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_TOPIC_PARTITIONS: String(options.partitions ?? 3),
    KAFKA_GROUP_ID: `writer-${prefix}`,
    DATABASE_URL: options.databaseUrl,
    STRIPE_SECRET_KEY: TEST_KEY,
    STRIPE_API_URL: emu.url,
    STRIPE_RATE_LIMIT_PER_SECOND: "1000",
    OPS_PORT: "0",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...overrides,
  });
  const config = (overrides: Record<string, string> = {}) => loadConfig(env(overrides));

  const offsets = createOffsetReader(kafka);
  const harness: Harness = {
    emu,
    stripe,
    store,
    databaseUrl: options.databaseUrl,
    prefix,
    topics,
    kafka,
    producer,
    seen,
    config,
    env,
    async syncRequestsAfterOrdersHandled() {
      await poll(
        async () =>
          (await consumerLag(kafka, `writer-${prefix}`, [topics.orders])).every((p) => p.lag === 0) ||
          undefined,
        { what: "the writer to commit every order" },
      );
      return (await offsets.partitionSizes(syncTopic)).reduce((n, p) => n + p.size, 0);
    },
    async startWriter(opts = {}) {
      const service = await startWriterService(config(opts.env), {
        logger,
        metrics: opts.metrics ?? createMetrics("stripe-writer", { defaultMetrics: false }),
        ...(opts.hooks ? { hooks: opts.hooks } : {}),
        exit: () => {},
      });
      services.push(service);
      return service;
    },
    async publishEnvelope(key, envelope, topic = topics.orders) {
      await producer.publish(topic, { key, envelope });
    },
    async publishOrder(order, ids = {}) {
      const orderId = ids.orderId ?? newOrderId();
      const subscriptionId =
        ids.subscriptionId ??
        (order.subscriptionId as string | undefined) ??
        (order.forSubscription as { id: string } | undefined)?.id ??
        newSubscriptionId();
      const envelope: Envelope = {
        id: orderId,
        type: messageTypes.orderSubmitted,
        version: 1,
        occurredAt: new Date().toISOString(),
        source: "test",
        correlationId: `corr-${orderId}`,
        data: {
          orderId,
          subscriptionId,
          order: { ...order, id: orderId, ...(order.order_type === "new" ? { subscriptionId } : {}) },
          receivedAt: new Date().toISOString(),
          source: (order.source as string | undefined) ?? "api",
        },
      };
      const { partition } = await producer.publish(topics.orders, { key: subscriptionId, envelope });
      return { orderId, subscriptionId, envelope, partition };
    },
    async waitForOutcome(orderId, opts = {}) {
      const id = opts.id ?? `${orderId}:outcome`;
      const envelope = await poll(() => seen.outcomes.find((e) => e.id === id), {
        timeoutMs: opts.timeoutMs ?? 30_000,
        what: `outcome ${id}`,
      });
      return envelope.data;
    },
    async linkSubscription(outcome, offerId) {
      const customerId = `cus-${hex()}`;
      await store.db.customer.create({ data: { id: customerId, email: `${hex(8)}@example.com` } });
      await store.db.subscription.create({
        data: {
          id: outcome.subscriptionId,
          reference: hex(12).toUpperCase(),
          customerId,
          offerId,
          status: "active",
          source: "shop",
          stripeCustomerId: outcome.stripe.customerId ?? null,
          stripeSubscriptionId: outcome.stripe.subscriptionId ?? null,
        },
      });
    },
    async card(token = "tok_visa") {
      return (await stripe.paymentMethods.create({ type: "card", card: { token } })).id;
    },
    async subscribe(email, offerId, payment) {
      const pay = payment ?? { type: "stripe", paymentMethodId: await harness.card() };
      const { orderId } = await harness.publishOrder(newOrder({ email, offerId, payment: pay }));
      const outcome = await harness.waitForOutcome(orderId);
      if (outcome.status !== "applied") throw new Error(`subscribe failed: ${JSON.stringify(outcome.error)}`);
      await harness.linkSubscription(outcome, offerId);
      return outcome;
    },
    async stop() {
      for (const s of services.splice(0)) await s.stop().catch(() => {});
      for (const c of collectors) await c.stop().catch(() => {});
      await offsets.close();
      await producer.disconnect().catch(() => {});
      await store.close().catch(() => {});
      await emu.stop().catch(() => {});
    },
  };
  return harness;
}

/** The order row, once it reached a final status. */
export async function finalOrder(store: Store, orderId: string, timeoutMs = 30_000) {
  return poll(
    async () => {
      const row = await findOrder(store.db, orderId);
      return row && ["applied", "failed", "skipped"].includes(row.status) ? row : undefined;
    },
    { timeoutMs, what: `order ${orderId} to finish` },
  );
}

export type ChildWriter = {
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>;
  output(): string;
};

/** `node apps/stripe-writer/src/main.ts` as a child process with this environment. */
export async function spawnWriter(env: Record<string, string>): Promise<ChildWriter> {
  const { spawn } = await import("node:child_process");
  const main = new URL("../src/main.ts", import.meta.url).pathname;
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  });
  child.stderr.on("data", (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    exited,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A paid subscription made directly with the SDK and linked in the store (no writer involved). */
/** A paid subscription made directly in Stripe and linked in the store (optionally on a test clock). */
export async function seedPaidSubscription(
  h: Harness,
  offerId: string,
  options: { testClock?: string } = {},
): Promise<OrderOutcomeV1> {
  const { buildPriceParams } = await import("@bridge/domain");
  const { findOffer } = await import("@bridge/store");
  const offer = (await findOffer(h.store.db, offerId))!.raw as import("@bridge/domain").Offer;
  const params = buildPriceParams(offer, 0);
  await h.stripe.products
    .retrieve(offer.stripeProductCode)
    .catch(() => h.stripe.products.create({ id: offer.stripeProductCode, name: offer.name }));
  const price =
    (await h.stripe.prices.list({ lookup_keys: [params.lookup_key] })).data[0] ??
    (await h.stripe.prices.create(params));
  const pm = await h.card();
  const customer = await h.stripe.customers.create({
    email: `seed+${hex(8)}@example.com`,
    payment_method: pm,
    invoice_settings: { default_payment_method: pm },
    ...(options.testClock ? { test_clock: options.testClock } : {}),
  });
  const sub = await h.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
  const outcome: OrderOutcomeV1 = {
    orderId: newOrderId(),
    subscriptionId: newSubscriptionId(),
    orderType: "new",
    status: "applied",
    action: "subscription_created",
    stripe: { customerId: customer.id, subscriptionId: sub.id },
    completedAt: new Date().toISOString(),
  };
  await h.linkSubscription(outcome, offerId);
  return outcome;
}
