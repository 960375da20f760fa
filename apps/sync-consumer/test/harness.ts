// The sync-consumer's test harness: the app's wiring on fresh topics and database, the emulator
// in-process, and a stand-in for the gateway's webhook route. Generic parts come from the testkit.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import {
  type Envelope,
  isHandledStripeEventType,
  messageTypes,
  type OrderOutcomeV1,
  type StripeEventLike,
  stripeEventKey,
  stripeEventReceivedData,
} from "@bridge/domain";
import {
  createKafkaClient,
  createProducer,
  ensureTopics,
  type KafkaClient,
  type MessageProducer,
  topicWithCompanions,
} from "@bridge/messaging";
import { createLogger } from "@bridge/observability";
import { createStore, findSubscriptionDetail, type Store } from "@bridge/store";
import type { Stripe } from "@bridge/stripe-client";
import { CONSUMER, createSyncMetrics, noCoalescing, type SyncDeps } from "@bridge/sync-core";
import {
  type EmulatedStripe,
  type EmulatorConfig,
  freshDatabase,
  kafkaBrokers,
  seedLimioSubscription,
  startStripe,
  stripeSubscription,
  uniqueName,
  until as untilCondition,
} from "@bridge/testkit";
import { Registry } from "prom-client";
import { afterAll, beforeAll } from "vitest";
import type { StripeEventOutcome } from "../src/handlers/stripe-event.ts";
import { type RunningSyncConsumer, startSyncConsumer } from "../src/wiring.ts";

export {
  advanceClock,
  seedLimioSubscription,
  startStripe,
  stripeSubscription,
  subscriptionFetches,
  topicSize,
  utc,
} from "@bridge/testkit";
export type Emulated = EmulatedStripe;

export const logger = createLogger("sync-consumer-test", { level: process.env.TEST_LOG_LEVEL ?? "error" });

/** The shared poller with this package's longer default (syncs read Stripe inside a transaction). */
export const until = (condition: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = "condition") =>
  untilCondition(condition, timeoutMs, what);

/** Deps for calling the sync core directly (no Kafka). */
export function directDeps(store: Store, stripe: Stripe): SyncDeps {
  return {
    store,
    stripe,
    logger,
    metrics: createSyncMetrics(new Registry()),
    coalescer: noCoalescing,
  };
}

/** A catalog offer row (no charges) for tests where only the offer id matters. */
export const catalogOffer = (id: string) => ({
  id,
  name: id,
  stripeProductCode: "prod_demo",
  autoRenew: true,
  charges: [],
  raw: {},
});

/** The customer's default card swapped in Stripe for one that declines: renewals fail from now on. */
export async function declineRenewals(stripe: Stripe, customerId: string) {
  const failing = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", { customer: customerId });
  await stripe.customers.update(customerId, { invoice_settings: { default_payment_method: failing.id } });
  return failing;
}

type StripeEventRelated = ReturnType<typeof stripeEventReceivedData>["related"];

export type HarnessOptions = {
  coalesce?: boolean;
  emulator?: Partial<EmulatorConfig>;
  partitions?: number;
  kafkaGauges?: boolean;
  /** The sync's settle wait (`SYNC_COALESCE_SETTLE_MS`; default 0 here). */
  settleMs?: number;
};

type BridgeTopics = {
  stripeEvents: string;
  sync: string;
  orderOutcomes: string;
  orders: string;
  subscriptionChanges: string;
};

export type Harness = EmulatedStripe & {
  store: Store;
  kafka: KafkaClient;
  producer: MessageProducer;
  topics: BridgeTopics;
  consumer: RunningSyncConsumer;
  /** What the Stripe-event handler decided, per Stripe event id (in handling order). */
  outcomes: { eventId: string; outcome: StripeEventOutcome }[];
  publishSyncRequest(subscriptionId: string, reason?: "api" | "operator"): Promise<string>;
  /** An order outcome as the writer publishes it; resolves with its message id. */
  publishOrderOutcome(data: Omit<OrderOutcomeV1, "completedAt">): Promise<string>;
  publishStripeEvent(event: StripeEventLike): Promise<void>;
  /**
   * Stripe's events (the emulator's event list) that `concerns` selects by what they relate to and
   * that this harness has not handed out before, oldest first: a test takes each renewal's once.
   */
  newStripeEvents(concerns: (related: StripeEventRelated) => boolean): Promise<StripeEventLike[]>;
  inboxHas(messageIds: string[]): Promise<boolean>;
  stop(): Promise<void>;
};

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const emulated = await startStripe(options.emulator);
  const store = createStore(await freshDatabase("sync"), { poolSize: 6 });
  const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueName("sync-test"), logger });
  const topics: BridgeTopics = {
    stripeEvents: uniqueName("stripe-events"),
    sync: uniqueName("sync"),
    orderOutcomes: uniqueName("order-outcomes"),
    orders: uniqueName("orders"),
    subscriptionChanges: uniqueName("subscription-changes"),
  };
  await ensureTopics(
    kafka,
    Object.values(topics).flatMap((t) => topicWithCompanions(t, { partitions: options.partitions ?? 2 })),
  );
  const producer = createProducer(kafka);
  await producer.connect();
  const outcomes: Harness["outcomes"] = [];
  const handedOut = new Set<string>();
  const consumer = await startSyncConsumer({
    kafka,
    store,
    stripe: emulated.stripe,
    logger,
    registry: emulated.registry,
    groupId: uniqueName("sync-consumer"),
    topics,
    retry: { baseDelayMs: 50, retryTopicDelayMs: 200 },
    ...(options.coalesce === undefined ? {} : { coalesce: options.coalesce }),
    ...(options.kafkaGauges ? { kafkaGauges: true } : {}),
    ...(options.settleMs === undefined ? {} : { coalesceSettleMs: options.settleMs }),
    hooks: { onStripeEvent: (eventId, outcome) => outcomes.push({ eventId, outcome }) },
    exit: (code) => {
      throw new Error(`consumer exited ${code}`);
    },
  });
  return {
    ...emulated,
    store,
    kafka,
    producer,
    topics,
    consumer,
    outcomes,
    async publishSyncRequest(subscriptionId, reason = "api") {
      const id = randomUUID();
      const envelope: Envelope = {
        id,
        type: messageTypes.syncRequested,
        version: 1,
        occurredAt: new Date().toISOString(),
        source: "api",
        correlationId: randomUUID(),
        data: { subscriptionId, reason, requestId: id, requestedAt: new Date().toISOString() },
      };
      await producer.publish(topics.sync, { key: subscriptionId, envelope });
      return id;
    },
    async publishOrderOutcome(data) {
      const envelope: Envelope = {
        id: randomUUID(),
        type: messageTypes.orderOutcome,
        version: 1,
        occurredAt: new Date().toISOString(),
        source: "stripe-writer",
        correlationId: randomUUID(),
        data: { ...data, completedAt: new Date().toISOString() },
      };
      await producer.publish(topics.orderOutcomes, { key: data.subscriptionId, envelope });
      return envelope.id;
    },
    async publishStripeEvent(event) {
      await producer.publish(topics.stripeEvents, gatewayMessage(event));
    },
    async newStripeEvents(concerns) {
      const events: StripeEventLike[] = [];
      for await (const e of emulated.stripe.events.list({ limit: 100 })) {
        const event = e as unknown as StripeEventLike;
        if (handedOut.has(event.id) || !concerns(stripeEventReceivedData(event).related)) continue;
        events.push(event);
      }
      for (const e of events) handedOut.add(e.id);
      return events.reverse();
    },
    async inboxHas(messageIds) {
      const n = await store.db.inboxMessage.count({
        where: { consumer: CONSUMER, messageId: { in: messageIds } },
      });
      return n === new Set(messageIds).size;
    },
    async stop() {
      await consumer.stop();
      await producer.disconnect();
      await store.close();
      await emulated.emu.stop();
    },
  };
}

/** The message the gateway publishes for a verified Stripe webhook (id = Stripe event id). */
export function gatewayMessage(event: StripeEventLike) {
  const envelope: Envelope = {
    id: event.id,
    type: messageTypes.stripeEventReceived,
    version: 1,
    occurredAt: new Date(event.created * 1000).toISOString(),
    source: "stripe",
    correlationId: randomUUID(),
    data: stripeEventReceivedData(event),
  };
  return { key: stripeEventKey(event), envelope };
}

/** Stripe's events about this subscription or its customer not handed out yet, oldest first. */
export const eventsAbout = (h: Harness, s: { customer: { id: string }; subscription: { id: string } }) =>
  h.newStripeEvents((r) => r.customerId === s.customer.id || r.subscriptionId === s.subscription.id);

/** A subscription on a test clock, linked in Limio and synced once from its creation events. */
export async function syncedStripeSubscription(h: Harness, frozenTime: number) {
  const s = await stripeSubscription(h.stripe, { frozenTime, card: "pm_card_visa" });
  const { subscriptionId } = await seedLimioSubscription(h.store, {
    stripeSubscriptionId: s.subscription.id,
    stripeCustomerId: s.customer.id,
  });
  await deliverStripeEvents(h, await eventsAbout(h, s));
  const sub = await findSubscriptionDetail(h.store.db, subscriptionId);
  if (!sub?.lastSyncedAt) throw new Error(`${subscriptionId} was not synced from its creation events`);
  return { s, subscriptionId };
}

type LoggedRequest = { method: string; path: string; route: string | null };

/** The Stripe requests made during `work`, by "METHOD route", from the emulator's request log. */
export async function stripeRequestsMadeDuring(
  h: Harness,
  work: () => Promise<unknown>,
): Promise<Record<string, number>> {
  const log = async () =>
    ((await (await fetch(`${h.emu.url}/_emulator/requests`)).json()) as { data: LoggedRequest[] }).data;
  const before = (await log()).length;
  await work();
  const counts: Record<string, number> = {};
  for (const r of (await log()).slice(before)) {
    const name = `${r.method} ${r.route ?? r.path}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** Publishes the deliveries in one batch and waits until each one was handled; their outcomes. */
export async function deliverStripeEvents(h: Harness, deliveries: StripeEventLike[]) {
  const before = h.outcomes.length;
  await h.producer.publishBatch(h.topics.stripeEvents, deliveries.map(gatewayMessage));
  await until(() => h.outcomes.length - before === deliveries.length, 60_000, "every delivery handled");
  return h.outcomes.slice(before);
}

/**
 * A stand-in for the gateway's webhook route: verifies each delivery with the SDK and publishes
 * `stripe.event.received` to the harness topic, answering 200 only after Kafka acknowledged.
 */
export async function startWebhookReceiver(h: Harness) {
  const published: StripeEventLike[] = [];
  let secret = "";
  let paused = false;
  let holding: StripeEventLike[] = [];
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    try {
      const event = h.stripe.webhooks.constructEvent(
        raw,
        String(req.headers["stripe-signature"] ?? ""),
        secret,
      );
      if (isHandledStripeEventType(event.type)) {
        if (paused) {
          holding.push(event as unknown as StripeEventLike);
        } else {
          await h.publishStripeEvent(event as unknown as StripeEventLike);
          published.push(event as unknown as StripeEventLike);
        }
      }
      res.writeHead(200).end("ok");
    } catch {
      res.writeHead(400).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const endpoint = await h.stripe.webhookEndpoints.create({
    url: `http://127.0.0.1:${port}/webhooks/stripe`,
    enabled_events: ["*"],
  });
  secret = endpoint.secret ?? "";
  return {
    published,
    /** Hold deliveries (acknowledged, not yet published) to release them as one burst. */
    pause() {
      paused = true;
    },
    held: () => [...holding],
    /** Publish every held event at once (concurrent webhook deliveries at the gateway). */
    async resume() {
      const burst = holding;
      holding = [];
      paused = false;
      await Promise.all(burst.map((e) => h.publishStripeEvent(e)));
      published.push(...burst);
    },
    /** Wait until every delivery is done and every published event has its inbox row. */
    async settle(timeoutMs = 60_000) {
      await h.emu.flushWebhooks();
      await until(() => h.inboxHas(published.map((e) => e.id)), timeoutMs, "every published event handled");
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>;

/**
 * The harness for one test file: started before its tests, stopped after them. Read `h` inside
 * tests (it is set once `beforeAll` has run).
 */
export function useHarness(options: HarnessOptions = {}) {
  const started = {} as { h: Harness };
  beforeAll(async () => {
    started.h = await startHarness(options);
  });
  afterAll(async () => {
    await started.h?.stop();
  });
  return started;
}

/**
 * The harness and a webhook receiver for one test file: started before its tests, stopped after
 * them. Read `h` and `receiver` inside tests (they are set once `beforeAll` has run).
 */
export function useWebhookHarness(options: HarnessOptions = {}) {
  const started = {} as { h: Harness; receiver: WebhookReceiver };
  beforeAll(async () => {
    started.h = await startHarness(options);
    started.receiver = await startWebhookReceiver(started.h);
  });
  afterAll(async () => {
    await started.receiver?.close();
    await started.h?.stop();
  });
  return started;
}
