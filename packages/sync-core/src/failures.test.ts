// Where every Stripe and Postgres failure goes in the sync-consumer (issue 16; decisions 003 and
// 024): permanent → the DLQ at once, with the class and the reason in its headers; retryable →
// retried with backoff (then the retry topic, then the DLQ); fatal → the consumer stops. The
// store's errors come from a real Postgres, Stripe's from the SDK's own factory.
import { randomUUID } from "node:crypto";
import {
  createKafkaClient,
  createProducer,
  type ErrorClass,
  ensureTopics,
  readTopic,
  startConsumer,
  topicWithCompanions,
} from "@bridge/messaging";
import { createLogger } from "@bridge/observability";
import { createStore, type Store } from "@bridge/store";
import { freshDatabase, freshTopic, kafkaBrokers, until } from "@bridge/testkit";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syncErrorClass } from "./failures.ts";

let store: Store;
beforeAll(async () => {
  store = createStore(await freshDatabase("sync_failures"));
});
afterAll(async () => {
  await store?.close();
});

const failureOf = (query: (s: Store) => Promise<unknown>) =>
  query(store).then(
    () => {
      throw new Error("the query succeeded");
    },
    (caught: unknown) => caught,
  );
const raise = (sqlState: string) => (s: Store) =>
  s.db.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '${sqlState}'; END $$`);
const customer = (id: string, email: string) => ({ data: { id, email } });
const stripeAnswer = (statusCode: number, type: string, code?: string) => () =>
  Promise.resolve(
    Stripe.errors.StripeError.generate({
      statusCode,
      type,
      message: `Stripe answered ${statusCode}`,
      ...(code ? { code } : {}),
    } as Parameters<typeof Stripe.errors.StripeError.generate>[0]),
  );

const cases: { name: string; error: () => Promise<unknown>; expected: ErrorClass }[] = [
  {
    name: "NUL in text (22021)",
    error: () => failureOf((s) => s.db.customer.create(customer("cus-nul", "a\u0000@x.com"))),
    expected: "permanent",
  },
  {
    name: "NUL in JSON (22P05)",
    error: () =>
      failureOf((s) =>
        s.db.customer.create(customer("cus-ok", "ok@example.com")).then(() =>
          s.db.subscription.create({
            data: {
              id: "sub-nul",
              reference: "REFNUL",
              customerId: "cus-ok",
              status: "active",
              source: "stripe",
              stripeRaw: { a: "\u0000" },
            },
          }),
        ),
      ),
    expected: "permanent",
  },
  {
    name: "unique violation P2002 (another delivery got there first)",
    error: () => failureOf((s) => s.db.customer.create(customer("cus-ok", "ok@example.com"))),
    expected: "retryable",
  },
  {
    name: "foreign key P2003",
    error: () =>
      failureOf((s) =>
        s.db.subscription.create({
          data: {
            id: "sub-fk",
            reference: "REFFK",
            customerId: "cus-none",
            status: "active",
            source: "stripe",
          },
        }),
      ),
    expected: "retryable",
  },
  { name: "serialization failure 40001", error: () => failureOf(raise("40001")), expected: "retryable" },
  { name: "deadlock 40P01", error: () => failureOf(raise("40P01")), expected: "retryable" },
  { name: "table missing 42P01", error: () => failureOf(raise("42P01")), expected: "fatal" },
  {
    name: "StripeInvalidRequestError resource_missing",
    error: stripeAnswer(404, "invalid_request_error", "resource_missing"),
    expected: "permanent",
  },
  {
    name: "StripeRateLimitError",
    error: stripeAnswer(429, "invalid_request_error", "rate_limit"),
    expected: "retryable",
  },
  { name: "StripeAPIError", error: stripeAnswer(500, "api_error"), expected: "retryable" },
  { name: "StripeAuthenticationError", error: stripeAnswer(401, "invalid_request_error"), expected: "fatal" },
];

describe("syncErrorClass", () => {
  it.each(cases)("$name → $expected", async ({ error, expected }) => {
    expect(syncErrorClass(await error())).toBe(expected);
  });
  it("leaves anything else to the runtime's default (retryable)", () => {
    expect(syncErrorClass(new TypeError("bug"))).toBeUndefined();
  });
});

const envelopeFor = (data: { query: string }) => ({
  id: randomUUID(),
  type: "test.sync",
  version: 1,
  occurredAt: new Date().toISOString(),
  source: "test",
  correlationId: randomUUID(),
  data,
});

describe("a sync handler's store failures through the Kafka runtime", () => {
  it("dead-letters a permanent one at once with its reason; retries a transient one until it passes", async () => {
    const logger = createLogger("sync-failures-test", { level: "silent" });
    const kafka = createKafkaClient({ brokers: kafkaBrokers(), clientId: "sync-failures-test", logger });
    const topic = await freshTopic("sync-failures");
    await ensureTopics(kafka, topicWithCompanions(topic, { partitions: 1 }));
    const producer = createProducer(kafka);
    await producer.connect();
    const attempts = new Map<string, number>();
    const consumer = await startConsumer(kafka, {
      groupId: `sync-failures-${topic}`,
      topics: [topic],
      classifyError: syncErrorClass,
      retry: { attempts: 3, baseDelayMs: 10, retryTopicDelayMs: 100 },
      logger,
      handler: async (envelope) => {
        const { query } = envelope.data as { query: "nul" | "deadlock" };
        const n = (attempts.get(query) ?? 0) + 1;
        attempts.set(query, n);
        if (query === "nul") await store.db.customer.create(customer("cus-nul-2", "b\u0000@x.com"));
        if (query === "deadlock" && n < 3) await raise("40P01")(store);
      },
    });
    try {
      const nul = envelopeFor({ query: "nul" });
      await producer.publish(topic, { key: "k", envelope: nul });
      await producer.publish(topic, { key: "k", envelope: envelopeFor({ query: "deadlock" }) });
      await until(
        () => attempts.get("deadlock") === 3,
        20_000,
        "the deadlocked message retried until it passed",
      );
      const dead = await readTopic(kafka, `${topic}.dlq`);
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ errorClass: "permanent" });
      expect(dead[0]?.headers["x-message-id"]).toBe(nul.id);
      expect(dead[0]?.headers["x-error-message"]).toMatch(/0x00/);
      expect(attempts.get("nul")).toBe(1);
    } finally {
      await consumer.stop();
      await producer.disconnect();
    }
  });
});
