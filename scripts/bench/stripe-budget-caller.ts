// One replica's Stripe call loop for the shared-budget benchmark (stripe-budget.bench.ts), run as
// its own process: a writer (orders arriving at a fixed rate, four Stripe calls each) or a
// sync-consumer (background reads as fast as its limiter allows). Each HTTP attempt first takes a
// token from the limiter under test: today's per-process limiter or the account's shared budget.
// Prints "ready", starts on a line on stdin, runs DURATION_MS, prints one JSON line of figures.
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { createStore, stripeBudgetStore } from "@bridge/store";
import {
  budgetIdFor,
  createSharedBudget,
  createStripeClient,
  type RateLimiter,
  type Stripe,
  sharedLimiterFor,
} from "@bridge/stripe-client";

export type CallerReport = {
  role: "writer" | "sync";
  ok: number;
  rateLimited: number;
  errors: number;
  ordersCompleted: number;
  ordersFailed: number;
  orderLatenciesMs: number[];
  fallbackModes: number;
};

const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const role = env("ROLE") as CallerReport["role"];
const secretKey = env("STRIPE_KEY");
const limit = Number(env("LIMIT"));
const durationMs = Number(env("DURATION_MS"));
// The SDK's own retries are off so that every attempt passes through the limiter under test; the
// loop retries 429s and connection errors twice with the SDK's backoff (0.5 s, then 1 s, jittered).
const { stripe } = createStripeClient({
  secretKey,
  apiUrl: env("STRIPE_API_URL"),
  ratePerSecond: Number.MAX_SAFE_INTEGER,
  maxNetworkRetries: 0,
});
const store = env("LIMITER") === "shared" ? createStore(env("DATABASE_URL"), { poolSize: 2 }) : undefined;
const report: CallerReport = {
  role,
  ok: 0,
  rateLimited: 0,
  errors: 0,
  ordersCompleted: 0,
  ordersFailed: 0,
  orderLatenciesMs: [],
  fallbackModes: 0,
};
const limiter: RateLimiter & { close?: () => Promise<void> } = store
  ? createSharedBudget({
      store: stripeBudgetStore(store.db, budgetIdFor(secretKey)),
      lane: role === "writer" ? "orders" : "background",
      limitPerSecond: limit,
      onModeChange: (mode) => {
        if (mode === "fallback") report.fallbackModes += 1;
      },
    })
  : sharedLimiterFor(secretKey, limit);

let endAt = Number.POSITIVE_INFINITY;

async function call<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    await limiter.acquire();
    try {
      const result = await request();
      if (Date.now() <= endAt) report.ok += 1;
      return result;
    } catch (error) {
      const rateLimited = (error as { statusCode?: number }).statusCode === 429;
      if (Date.now() <= endAt) {
        if (rateLimited) report.rateLimited += 1;
        else report.errors += 1;
      }
      const retryable = rateLimited || (error as { type?: string }).type === "StripeConnectionError";
      if (!retryable || attempt >= 2) throw error;
      await sleep(500 * 2 ** attempt * (0.5 + Math.random() / 2));
    }
  }
}

/** An order's four calls, as many as the writer's cheapest new order (docs/decisions/009). */
async function placeOrder(n: number) {
  const email = `bench-${process.pid}-${n}@example.com`;
  await call(() => stripe.customers.list({ email, limit: 1 }));
  const customer = await call(() =>
    stripe.customers.create({ email }, { idempotencyKey: `bench-${process.pid}-${n}-create` }),
  );
  await call(() =>
    stripe.customers.update(
      customer.id,
      { metadata: { limio_order: String(n) } },
      { idempotencyKey: `bench-${process.pid}-${n}-update` },
    ),
  );
  await call(() => stripe.customers.retrieve(customer.id));
}

async function runWriter(ordersPerSecond: number) {
  const interval = 1000 / ordersPerSecond;
  const inFlight: Promise<void>[] = [];
  let next = Date.now() + Math.random() * interval;
  for (let n = 0; next < endAt; n += 1, next += interval) {
    await sleep(Math.max(0, next - Date.now()));
    const arrivedAt = next;
    inFlight.push(
      placeOrder(n).then(
        () => {
          report.ordersCompleted += 1;
          report.orderLatenciesMs.push(Date.now() - arrivedAt);
        },
        () => {
          report.ordersFailed += 1;
        },
      ),
    );
  }
  await Promise.all(inFlight);
}

/** A sync's three reads (subscription, invoices, preview in the real one), as fast as allowed. */
async function runSync(concurrency: number, customer: Stripe.Customer) {
  const loop = async () => {
    while (Date.now() < endAt) {
      try {
        await call(() => stripe.customers.retrieve(customer.id));
        await call(() => stripe.customers.list({ limit: 3 }));
        await call(() => stripe.invoices.list({ customer: customer.id, limit: 3 }));
      } catch {
        // Counted in `call`; a failed sync is retried by the next one.
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

const syncCustomer =
  role === "sync"
    ? await stripe.customers.create({ email: `bench-sync-${process.pid}@example.com` })
    : undefined;
if (store) await store.ping();
process.stdout.write("ready\n");
await once(process.stdin, "data");
endAt = Date.now() + durationMs;
if (syncCustomer) await runSync(Number(env("SYNC_CONCURRENCY")), syncCustomer);
else await runWriter(Number(env("ORDERS_PER_SECOND")));
process.stdout.write(`${JSON.stringify(report)}\n`);
await limiter.close?.();
await store?.close();
