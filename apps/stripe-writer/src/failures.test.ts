// Where every Stripe and Postgres failure goes in the writer (issue 16; decisions 003 and 024):
// a reason that will never change fails the order with an outcome (`failed`, code, message);
// a transient one is rethrown for the runtime to retry with backoff; a wrong key or schema stops
// the consumer (fatal). Stripe's errors are built by the SDK's own factory from Stripe's HTTP
// answers; the store's come from a real Postgres.
import { classifyError } from "@bridge/messaging";
import { createStore, findOrder, type Store } from "@bridge/store";
import { freshDatabase, kafkaBrokers, topicSize } from "@bridge/testkit";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, newOrder, startHarness } from "../test/harness.ts";
import { runAction, writerErrorClass } from "./failures.ts";

/** What the SDK throws for this HTTP answer from Stripe (the same factory its requests use). */
const stripeAnswer = (
  statusCode: number,
  body: { type: string; code?: string; decline_code?: string; message?: string },
  headers: Record<string, string> = {},
) =>
  Stripe.errors.StripeError.generate({
    statusCode,
    message: body.message ?? `Stripe answered ${statusCode}`,
    headers,
    ...body,
  } as Parameters<typeof Stripe.errors.StripeError.generate>[0]);

type Goes = { failed: string } | { retried: true; retryAfterMs?: number } | { fatal: true };

/** Runs an action that throws `error` and says where the order goes. */
async function whereItGoes(error: unknown): Promise<Goes & { message?: string }> {
  try {
    const result = await runAction(() => Promise.reject(error));
    expect(result.status).toBe("failed");
    expect(result.error?.message).toBeTruthy();
    return { failed: result.error!.code, message: result.error!.message };
  } catch (thrown) {
    const errorClass = classifyError(thrown, writerErrorClass);
    if (errorClass === "fatal") return { fatal: true };
    expect(errorClass).toBe("retryable");
    const retryAfterMs = (thrown as { retryAfterMs?: number }).retryAfterMs;
    return { retried: true, ...(retryAfterMs ? { retryAfterMs } : {}) };
  }
}

const stripeCases: { name: string; error: () => unknown; goes: Goes }[] = [
  {
    name: "StripeCardError (402 card_declined)",
    error: () =>
      stripeAnswer(402, { type: "card_error", code: "card_declined", decline_code: "insufficient_funds" }),
    goes: { failed: "card_declined" },
  },
  {
    name: "StripeInvalidRequestError resource_missing (404)",
    error: () => stripeAnswer(404, { type: "invalid_request_error", code: "resource_missing" }),
    goes: { failed: "resource_missing" },
  },
  {
    name: "StripeInvalidRequestError parameter_unknown (400)",
    error: () => stripeAnswer(400, { type: "invalid_request_error", code: "parameter_unknown" }),
    goes: { failed: "parameter_unknown" },
  },
  {
    name: "StripeIdempotencyError: key reused with other parameters (400)",
    error: () => stripeAnswer(400, { type: "idempotency_error" }),
    goes: { failed: "StripeIdempotencyError" },
  },
  {
    name: "409: another request with the key still in flight",
    error: () => stripeAnswer(409, { type: "idempotency_error", code: "idempotency_key_in_use" }),
    goes: { retried: true },
  },
  {
    name: "StripeInvalidRequestError lock_timeout (429)",
    error: () => stripeAnswer(429, { type: "invalid_request_error", code: "lock_timeout" }),
    goes: { retried: true },
  },
  {
    name: "StripeRateLimitError (429 with Retry-After)",
    error: () =>
      stripeAnswer(429, { type: "invalid_request_error", code: "rate_limit" }, { "retry-after": "2" }),
    goes: { retried: true, retryAfterMs: 2000 },
  },
  {
    name: "StripeAPIError (500)",
    error: () => stripeAnswer(500, { type: "api_error" }),
    goes: { retried: true },
  },
  {
    name: "StripeAPIError (503)",
    error: () => stripeAnswer(503, { type: "api_error" }),
    goes: { retried: true },
  },
  {
    name: "StripeConnectionError (network)",
    error: () => new Stripe.errors.StripeConnectionError({ message: "socket hang up" }),
    goes: { retried: true },
  },
  {
    name: "StripeAuthenticationError (401: the key is wrong)",
    error: () => stripeAnswer(401, { type: "invalid_request_error" }),
    goes: { fatal: true },
  },
  {
    name: "StripePermissionError (403: the key may not do this)",
    error: () => stripeAnswer(403, { type: "invalid_request_error" }),
    goes: { fatal: true },
  },
  {
    // Never reaches a consumer (the gateway's webhook route answers 400); were it to, it is final.
    name: "StripeSignatureVerificationError",
    error: () =>
      new Stripe.errors.StripeSignatureVerificationError("t=1,v1=x", "{}", { message: "no match" }),
    goes: { failed: "StripeSignatureVerificationError" },
  },
  {
    name: "a plain Error (unclassified: retried, then the DLQ where it can be re-driven)",
    error: () => new Error("something unexpected"),
    goes: { retried: true },
  },
];

describe("the writer's Stripe failures", () => {
  it.each(stripeCases)("$name", async ({ error, goes }) => {
    expect(await whereItGoes(error())).toMatchObject(goes);
  });
});

let store: Store;
beforeAll(async () => {
  store = createStore(await freshDatabase("writer_failures"));
});
afterAll(async () => {
  await store?.close();
});

/** The error a real Postgres raises (through Prisma and the pg adapter) for this write. */
async function storeFailure(query: (s: Store) => Promise<unknown>): Promise<unknown> {
  return query(store).then(
    () => {
      throw new Error("the query succeeded");
    },
    (caught: unknown) => caught,
  );
}
const raise = (sqlState: string) => (s: Store) =>
  s.db.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '${sqlState}'; END $$`);
const orderRow = (id: string, payload: unknown) => ({
  id,
  reference: id.slice(-12),
  type: "new",
  source: "shop",
  subscriptionId: "sub-1",
  status: "processing",
  payload: payload as never,
});

const storeCases: { name: string; query: (s: Store) => Promise<unknown>; goes: Goes }[] = [
  {
    name: "NUL in a JSON value (22P05)",
    query: (s) => s.db.order.create({ data: orderRow("order-nul-json", { name: "a\u0000b" }) }),
    goes: { failed: "store_refused" },
  },
  {
    name: "lone surrogate in a JSON value",
    query: (s) => s.db.order.create({ data: orderRow("order-surrogate", { name: "a\ud800" }) }),
    goes: { failed: "store_refused" },
  },
  {
    name: "NUL in a text column (22021)",
    query: (s) => s.db.order.create({ data: { ...orderRow("order-nul-text", {}), source: "a\u0000b" } }),
    goes: { failed: "store_refused" },
  },
  {
    name: "unique violation P2002 (a concurrent delivery)",
    query: async (s) => {
      await s.db.order.create({ data: orderRow("order-twice", {}) });
      await s.db.order.create({ data: orderRow("order-twice", {}) });
    },
    goes: { retried: true },
  },
  {
    name: "record not found P2025",
    query: (s) => s.db.order.update({ where: { id: "order-missing" }, data: { status: "applied" } }),
    goes: { retried: true },
  },
  { name: "serialization failure 40001", query: raise("40001"), goes: { retried: true } },
  { name: "deadlock 40P01", query: raise("40P01"), goes: { retried: true } },
  { name: "too many connections 53300", query: raise("53300"), goes: { retried: true } },
  { name: "admin shutdown 57P01", query: raise("57P01"), goes: { retried: true } },
  { name: "table missing 42P01 (schema not migrated)", query: raise("42P01"), goes: { fatal: true } },
];

describe("the writer's store failures", () => {
  it.each(storeCases)("$name", async ({ query, goes }) => {
    const where = await whereItGoes(await storeFailure(query));
    expect(where).toMatchObject(goes);
    // The reason is Postgres' own words, not Prisma's quote of the calling code.
    if ("failed" in goes) expect(where.message).not.toMatch(/invocation/);
  });

  it("the database unreachable (P1001) is retried", async () => {
    const down = createStore("postgresql://nobody@127.0.0.1:1/nothing");
    const error = await down.db.order.findFirst().catch((caught: unknown) => caught);
    await down.close();
    expect(await whereItGoes(error)).toEqual({ retried: true });
  });
});

describe("an order the store cannot hold, delivered past the gateway", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      brokers: kafkaBrokers(),
      databaseUrl: await freshDatabase("writer_unstorable"),
    });
    await h.startWriter();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it("fails with the store's reason at once (no retry, nothing dead-lettered), recorded with storable text", async () => {
    const nulInJson = await h.publishOrder(
      newOrder({ email: "nul@example.com", extra: { customerDetails: { firstName: "A\u0000da" } } }),
    );
    const nulInText = await h.publishOrder(
      newOrder({ email: "nul.text@example.com", extra: { external_id: "EXT\u0000-1" } }),
    );
    for (const { orderId } of [nulInJson, nulInText]) {
      const outcome = await h.waitForOutcome(orderId, { timeoutMs: 20_000 });
      expect(outcome).toMatchObject({ status: "failed", action: "none", error: { code: "store_refused" } });
      expect(outcome.error?.message).toMatch(/\((22P05|22021)\)$/);
      const row = await findOrder(h.store.db, orderId);
      expect(row).toMatchObject({ status: "failed", outcome: { error: { code: "store_refused" } } });
    }
    expect((await findOrder(h.store.db, nulInText.orderId))?.externalId).toBe("EXT\ufffd-1");
    expect(await topicSize(h.kafka, `${h.topics.orders}.retry`)).toBe(0);
    expect(await topicSize(h.kafka, `${h.topics.orders}.dlq`)).toBe(0);
  });
});
