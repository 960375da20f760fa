import { randomBytes } from "node:crypto";
import { messageTypes, type StripeEventLike, stripeEventKey, stripeEventReceivedData } from "@bridge/domain";
import { freshDatabase, kafkaBrokers } from "@bridge/local-infra/testing";
import { createLogger, createMetrics } from "@bridge/observability";
import { type RunningSyncConsumer, startSyncConsumer } from "@bridge/sync-consumer";
import type { FastifyInstance } from "fastify";
import type Stripe from "stripe";
import { buildGateway } from "../../apps/ingest-gateway/src/app.ts";
import { testConfig } from "../../apps/ingest-gateway/test/support.ts";
import { type Harness, startHarness } from "../../apps/stripe-writer/test/harness.ts";

/**
 * The gateway, the writer and the sync-consumer in process on one run's broker and database,
 * with the Stripe emulator: orders go in through the gateway (or the harness), Stripe's events
 * come back through `forwardStripeEvents`.
 */
export type E2eStack = {
  h: Harness;
  gateway: FastifyInstance;
  sync: RunningSyncConsumer;
  /** The gateway's webhook route in short, see forwardNewStripeEvents. */
  forwardStripeEvents(): Promise<void>;
  stop(): Promise<void>;
};

export async function startE2eStack(name: string): Promise<E2eStack> {
  const h = await startHarness({ brokers: kafkaBrokers(), databaseUrl: await freshDatabase(`e2e_${name}`) });
  // The writer seals a waiting order's secret with it; the gateway's GET opens it (decision 018).
  const ORDER_SECRET_KEY = randomBytes(32).toString("base64");
  await h.startWriter({ env: { ORDER_SECRET_KEY } });
  const syncTopic = `${h.prefix}limio.sync.v1`;
  const topics = {
    stripeEvents: h.topics.stripeEvents,
    orderOutcomes: h.topics.orderOutcomes,
    sync: syncTopic,
  };
  const gateway = await buildGateway({
    config: testConfig({ ORDER_SECRET_KEY }),
    logger: createLogger(`${name}-gateway`, { level: "silent" }),
    producer: h.producer,
    store: h.store,
    topics: { ...topics, orders: h.topics.orders },
  });
  const sync = await startSyncConsumer({
    kafka: h.kafka,
    store: h.store,
    stripe: h.stripe,
    logger: createLogger(`${name}-sync`, { level: process.env.TEST_LOG_LEVEL ?? "silent" }),
    registry: createMetrics("sync-consumer", { defaultMetrics: false }).registry,
    groupId: `sync-${h.prefix}`,
    topics,
    retry: { baseDelayMs: 50, retryTopicDelayMs: 200 },
    exit: (code) => {
      throw new Error(`sync-consumer exited ${code}`);
    },
  });
  const forwarded = new Set<string>();
  return {
    h,
    gateway,
    sync,
    forwardStripeEvents: () => forwardNewStripeEvents(h, forwarded),
    async stop() {
      await gateway.close();
      await sync.stop();
      await h.stop();
    },
  };
}

/**
 * Every Stripe event of the emulator not in `forwarded` yet is published on the stripe-events
 * topic (same id and key as the gateway uses), each one twice (at-least-once).
 */
async function forwardNewStripeEvents(h: Harness, forwarded: Set<string>): Promise<void> {
  const events: Stripe.Event[] = [];
  for await (const event of h.stripe.events.list({ limit: 100 })) events.push(event);
  for (const event of events.reverse()) {
    if (forwarded.has(event.id)) continue;
    forwarded.add(event.id);
    const like = event as unknown as StripeEventLike;
    const envelope = {
      id: event.id,
      type: messageTypes.stripeEventReceived,
      version: 1,
      occurredAt: new Date(event.created * 1000).toISOString(),
      source: "stripe",
      correlationId: event.id,
      data: stripeEventReceivedData(like),
    };
    for (let copy = 0; copy < 2; copy++) {
      await h.publishEnvelope(stripeEventKey(like), envelope, h.topics.stripeEvents);
    }
  }
}
