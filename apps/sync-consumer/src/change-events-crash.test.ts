// The sync-consumer SIGKILLed between the store write and the publish of its change events, and
// again between the publish and its record: the restarted relay publishes every missing event,
// none is lost, and a duplicate is only ever a re-publish with the same envelope id
// (docs/decisions/017). A child process (fixtures/crashing-sync-consumer.ts) is the sync-consumer.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { type Envelope, messageTypes, type SubscriptionChangedV1 } from "@bridge/domain";
import { freshDatabase, kafkaBrokers, uniqueName } from "@bridge/local-infra/testing";
import {
  createKafkaClient,
  createProducer,
  ensureTopics,
  type MessageProducer,
  startConsumer,
  topicWithCompanions,
} from "@bridge/messaging";
import {
  countUnpublishedChanges,
  createStore,
  isSyncHandled,
  listEventsForSubscription,
  listSubscriptionChanges,
  type Store,
} from "@bridge/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Emulated,
  logger,
  seedLimioSubscription,
  startStripe,
  stripeSubscription,
  until,
} from "../test/harness.ts";
import { startChangeEvents } from "./change-events.ts";

const fixture = join(import.meta.dirname, "fixtures", "crashing-sync-consumer.ts");
const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: uniqueName("crash-test"), logger });
const topics = {
  stripeEvents: uniqueName("crash-stripe-events"),
  sync: uniqueName("crash-sync"),
  orderOutcomes: uniqueName("crash-outcomes"),
  subscriptionChanges: uniqueName("crash-changes"),
};
const groupId = uniqueName("crash-sync-consumer");
let stripe: Emulated;
let store: Store;
let databaseUrl: string;
let producer: MessageProducer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  stripe = await startStripe();
  databaseUrl = await freshDatabase("change-crash");
  store = createStore(databaseUrl, { poolSize: 4 });
  await ensureTopics(
    kafka,
    Object.values(topics).flatMap((t) => topicWithCompanions(t, { partitions: 2 })),
  );
  producer = createProducer(kafka);
  await producer.connect();
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await producer?.disconnect();
  await store?.close();
  await stripe?.emu.stop();
});

/** The sync-consumer as a process that stops at `crashAt`; resolves once it is there. */
async function runUntilCrashPoint(
  crashAt: "before-publish" | "after-publish",
  trigger?: () => Promise<void>,
) {
  const lines: string[] = [];
  const child = spawn(process.execPath, [fixture], {
    env: {
      PATH: process.env.PATH,
      KAFKA_BROKERS: kafkaBrokers().join(","),
      KAFKAJS_NO_PARTITIONER_WARNING: "1",
      DATABASE_URL: databaseUrl,
      STRIPE_SECRET_KEY: "sk_test_crashingSync",
      STRIPE_API_URL: stripe.emu.url,
      GROUP_ID: groupId,
      TOPICS: JSON.stringify(topics),
      CRASH_AT: crashAt,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  child.stdout?.on("data", (b: Buffer) => lines.push(...b.toString("utf8").split("\n").filter(Boolean)));
  child.stderr?.on("data", (b: Buffer) => lines.push(b.toString("utf8")));
  const seen = (prefix: string) => () => lines.some((l) => l.startsWith(prefix)) || child.exitCode !== null;
  await until(seen("ready"), 60_000, "the crashing sync-consumer ready");
  console.info(`[crash] sync-consumer ${crashAt} ready`);
  await trigger?.();
  await until(seen("crash-point"), 60_000, `the relay at ${crashAt}`);
  expect(child.exitCode, lines.join("\n")).toBeNull();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

/** Every message on the change topic, read from the beginning with a fresh group. */
async function readChangeTopic(expected: number): Promise<Envelope<SubscriptionChangedV1>[]> {
  const seen: Envelope<SubscriptionChangedV1>[] = [];
  const consumer = await startConsumer(kafka, {
    groupId: uniqueName("crash-reader"),
    topics: [topics.subscriptionChanges],
    logger,
    handler: async (envelope) => {
      seen.push(envelope as Envelope<SubscriptionChangedV1>);
    },
  });
  try {
    await until(() => seen.length >= expected, 30_000, `${expected} change events read`);
  } finally {
    await consumer.stop();
  }
  return seen;
}

describe("change events when the sync-consumer is killed", () => {
  it("between the store write and the publish, then between the publish and its record: none lost, duplicates keep their id", async () => {
    const s = await stripeSubscription(stripe.stripe);
    const { subscriptionId } = await seedLimioSubscription(store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    const requestId = uniqueName("sync-request");
    const requestSync = async () => {
      await producer.publish(topics.sync, {
        key: subscriptionId,
        envelope: {
          id: requestId,
          type: messageTypes.syncRequested,
          version: 1,
          occurredAt: new Date().toISOString(),
          source: "api",
          correlationId: requestId,
          data: { subscriptionId, reason: "api", requestId, requestedAt: new Date().toISOString() },
        },
      });
    };

    // 1. Killed after the sync committed (store change + audit + outbox), before any publish.
    await runUntilCrashPoint("before-publish", requestSync);
    expect(await isSyncHandled(store.db, requestId)).toBe(true);
    const outbox = await listSubscriptionChanges(store.db, subscriptionId);
    const audit = await listEventsForSubscription(store.db, subscriptionId);
    expect(outbox.length).toBeGreaterThanOrEqual(3); // status, term, schedules, payment method
    expect(outbox.map((r) => r.eventId).sort()).toEqual(audit.map((e) => e.id).sort());
    expect(await countUnpublishedChanges(store.db)).toBe(outbox.length);

    // 2. Restarted, killed again after Kafka acknowledged the events but before they were marked.
    await runUntilCrashPoint("after-publish");
    expect(await countUnpublishedChanges(store.db)).toBe(outbox.length);

    // 3. Restarted for good: the relay publishes the backlog again and marks it.
    const relay = await startChangeEvents({
      kafka,
      store,
      logger,
      registry: stripe.registry,
      topic: topics.subscriptionChanges,
      pollIntervalMs: 50,
    });
    try {
      await until(
        async () => (await countUnpublishedChanges(store.db)) === 0,
        30_000,
        "the backlog published",
      );
    } finally {
      await relay.stop();
    }

    // On the topic: each event exactly twice (the crashed publish and the restart's), the same
    // envelope both times, in sequence order each time; nothing else.
    const onTopic = await readChangeTopic(2 * outbox.length);
    expect(onTopic).toHaveLength(2 * outbox.length);
    const ids = outbox.map((r) => r.id);
    expect(onTopic.map((e) => e.id)).toEqual([...ids, ...ids]);
    expect(onTopic.slice(outbox.length)).toEqual(onTopic.slice(0, outbox.length));
    expect(onTopic.slice(0, outbox.length).map((e) => e.data.sequence)).toEqual(
      outbox.map((r) => r.sequence),
    );
    expect(outbox.map((r) => r.sequence)).toEqual(outbox.map((_, i) => i + 1));
  }, 180_000);
});
