/**
 * Writer benchmark (a plain node script, not a vitest test):
 *
 *   node apps/stripe-writer/bench/writer.bench.ts            # starts local Kafka + Postgres itself
 *   KAFKA_BROKERS=… DATABASE_URL=… node apps/…/writer.bench.ts  # uses running (migrated) services
 *
 * 1. Stripe calls per action (emulator request log) against the minimum each action needs.
 * 2. Throughput of `new` orders (PaymentMethod, warm caches) with the writer's limiter and the
 *    emulator both at 25 req/s (Stripe test mode), as a fraction of what that limit allows
 *    (25 / minimum calls per order). BENCH_ORDERS (default 150), BENCH_PARTITIONS (default 6).
 */
import { fileURLToPath } from "node:url";

export type ActionCalls = { action: string; calls: number; minimum: number; detail: string };
export type WriterBenchmarkResult = {
  calls: ActionCalls[];
  throughput: {
    orders: number;
    failed: number;
    seconds: number;
    /** Steady state (10% mark → last order); `overallOrdersPerSecond` includes the initial burst. */
    ordersPerSecond: number;
    overallOrdersPerSecond: number;
    rateLimit: number;
    clientRate: number;
    minimumCallsPerOrder: number;
    budgetOrdersPerSecond: number;
    fractionOfBudget: number;
    stripeRequests: number;
    http429: number;
  };
};

/** Minimum Stripe calls per action (warm product/price caches); see docs/decisions/009. */
const MINIMUM: Record<string, { minimum: number; why: string }> = {
  "new (PaymentMethod)": {
    minimum: 4,
    why: "customers.list, customers.create (with the PM as default), subscriptions.create, invoices.pay",
  },
  "new (PaymentIntent)": {
    minimum: 4,
    why: "customers.list, customers.create, subscriptions.create, invoices.attachPayment",
  },
  "new (confirmation secret)": {
    minimum: 3,
    why: "customers.list, customers.create, subscriptions.create (expanded secret)",
  },
  "new (existing customer, PM)": {
    minimum: 5,
    why: "customers.list, paymentMethods.attach, customers.update (details + default PM), subscriptions.create, invoices.pay",
  },
  "new (cold caches)": {
    minimum: 8,
    why: "+ products.retrieve → 404 → products.create, prices.list → none → prices.create (then cached)",
  },
  cancel_subscription: {
    minimum: 2,
    why: "subscriptions.retrieve (schedule, period end), subscriptions.update",
  },
  change_address: { minimum: 1, why: "customers.update" },
  "change_payment (PM)": {
    minimum: 4,
    why: "paymentMethods.attach, customers.update, subscriptions.update, invoices.list (open invoice)",
  },
  "change_payment (SetupIntent)": { minimum: 1, why: "setupIntents.create" },
  "change_offer upgrade": {
    minimum: 2,
    why: "subscriptions.retrieve, subscriptions.update (always_invoice)",
  },
  "change_offer downgrade": {
    minimum: 3,
    why: "subscriptions.retrieve, subscriptionSchedules.create, subscriptionSchedules.update",
  },
};

export async function runWriterBenchmark(
  options: { orders?: number; partitions?: number; rateLimit?: number; clientRate?: number } = {},
): Promise<WriterBenchmarkResult> {
  const orders = options.orders ?? Number(process.env.BENCH_ORDERS ?? 150);
  const partitions = options.partitions ?? Number(process.env.BENCH_PARTITIONS ?? 6);
  const rateLimit = options.rateLimit ?? 25;
  /** The writer's limiter (STRIPE_RATE_LIMIT_PER_SECOND); the Stripe-side limit is `rateLimit`. */
  const clientRate = options.clientRate ?? Number(process.env.BENCH_CLIENT_RATE ?? rateLimit);
  const { startHarness, newOrder, offers, hex, seedPaidSubscription, poll } = await import(
    "../test/harness.ts"
  );

  // Run alone: Kafka and a migrated database of its own; from `npm run bench`: the runner's.
  let brokers = process.env.KAFKA_BROKERS;
  let databaseUrl = process.env.DATABASE_URL;
  let stopInfra = async () => {};
  if (!brokers || !databaseUrl) {
    const infra = await (await import("@bridge/local-infra")).startInfraWithDatabase("bench_writer");
    ({ kafkaBrokers: brokers, databaseUrl } = infra);
    stopInfra = infra.stop;
  }

  const h = await startHarness({ brokers: brokers.split(","), databaseUrl, partitions });
  type LogEntry = { method: string; path: string; status: number; idempotencyKey: string | null };
  const requestLog = async (): Promise<LogEntry[]> =>
    ((await (await fetch(`${h.emu.url}/_emulator/requests`)).json()) as { data: LogEntry[] }).data;
  const clearLog = () => fetch(`${h.emu.url}/_emulator/requests`, { method: "DELETE" });

  try {
    const calls: ActionCalls[] = [];
    /** Runs one order alone and counts the Stripe requests it made. */
    const measure = async (action: string, order: Record<string, unknown>) => {
      await clearLog();
      const { orderId } = await h.publishOrder(order);
      const outcome = await h.waitForOutcome(orderId, { timeoutMs: 60_000 });
      if (outcome.status !== "applied") throw new Error(`${action}: ${JSON.stringify(outcome.error)}`);
      const log = await requestLog();
      const entry = MINIMUM[action]!;
      calls.push({
        action,
        calls: log.length,
        minimum: entry.minimum,
        detail: log.map((r) => `${r.method} ${r.path.split("?")[0]}`).join(", "),
      });
      return outcome;
    };

    const measuring = await h.startWriter({
      env: { STRIPE_RATE_LIMIT_PER_SECOND: "1000", PARTITION_CONCURRENCY: String(partitions) },
    });
    // Cold: the first order of the process looks the product and the price up.
    await measure(
      "new (cold caches)",
      newOrder({
        email: `cold+${hex(8)}@example.com`,
        payment: { type: "stripe", paymentMethodId: await h.card() },
      }),
    );
    await measure(
      "new (PaymentMethod)",
      newOrder({
        email: `pm+${hex(8)}@example.com`,
        payment: { type: "stripe", paymentMethodId: await h.card() },
      }),
    );
    const pi = await h.stripe.paymentIntents.create({
      amount: 999,
      currency: "gbp",
      payment_method: await h.card(),
      confirm: true,
    });
    await measure(
      "new (PaymentIntent)",
      newOrder({ email: `pi+${hex(8)}@example.com`, payment: { type: "stripe", paymentIntentId: pi.id } }),
    );
    await measure("new (confirmation secret)", newOrder({ email: `cs+${hex(8)}@example.com` }));
    const existing = `existing+${hex(8)}@example.com`;
    await h.stripe.customers.create({ email: existing });
    await measure(
      "new (existing customer, PM)",
      newOrder({ email: existing, payment: { type: "stripe", paymentMethodId: await h.card() } }),
    );
    // Switch targets warm in the cache as in a running writer: one order for each first.
    for (const offerId of [offers.printDigitalMonthlyRecurring, offers.digitalAnnual]) {
      const warm = await h.publishOrder(newOrder({ email: `warm+${hex(8)}@example.com`, offerId }));
      await h.waitForOutcome(warm.orderId);
    }
    const sub = async () => seedPaidSubscription(h, offers.digitalMonthly);
    await measure("cancel_subscription", {
      source: "shop",
      order_type: "cancel_subscription",
      subscriptionId: (await sub()).subscriptionId,
    });
    await measure("change_address", {
      source: "shop",
      order_type: "change_address",
      subscriptionId: (await sub()).subscriptionId,
      type: "billing",
      address: { address1: "1 Bench Road", country: "GB" },
    });
    const pm = await h.card("tok_mastercard");
    await measure("change_payment (PM)", {
      source: "shop",
      order_type: "change_payment",
      subscriptionId: (await sub()).subscriptionId,
      payment: { type: "stripe", paymentMethodId: pm },
    });
    await measure("change_payment (SetupIntent)", {
      source: "shop",
      order_type: "change_payment",
      subscriptionId: (await sub()).subscriptionId,
    });
    await measure("change_offer upgrade", {
      source: "shop",
      order_type: "change_offer",
      subscriptionId: (await sub()).subscriptionId,
      offer: { id: offers.printDigitalMonthlyRecurring },
    });
    await measure("change_offer downgrade", {
      source: "shop",
      order_type: "change_offer",
      subscriptionId: (await sub()).subscriptionId,
      offer: { id: offers.digitalAnnual },
    });

    // Throughput at Stripe's test-mode limit: a fresh writer process-wide limiter of 25 req/s
    // (a new key, so a new bucket) against an emulator that enforces 25 req/s too.
    const cards = await Promise.all(Array.from({ length: orders }, () => h.card()));
    await measuring.stop(); // the same consumer group continues below, from the committed offsets
    await fetch(`${h.emu.url}/_emulator/settings`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rateLimitPerSecond: rateLimit }),
    });
    await h.startWriter({
      env: {
        STRIPE_SECRET_KEY: "sk_test_writer_bench",
        STRIPE_RATE_LIMIT_PER_SECOND: String(clientRate),
        PARTITION_CONCURRENCY: String(partitions),
        STRIPE_MAX_NETWORK_RETRIES: "2",
      },
    });
    await clearLog();
    const started = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < orders; i++) {
      const { orderId } = await h.publishOrder(
        newOrder({
          email: `bench${i}+${hex(8)}@example.com`,
          payment: { type: "stripe", paymentMethodId: cards[i]! },
        }),
      );
      ids.push(orderId);
    }
    const outcomeOf = (id: string) => h.seen.outcomes.find((e) => e.id === `${id}:outcome`)?.data;
    // When each outcome was first seen (20 ms resolution), for the steady-state rate below.
    const finishedAt: number[] = [];
    const pending = new Set(ids);
    await poll(
      () => {
        for (const e of h.seen.outcomes) {
          const id = e.id.slice(0, -":outcome".length);
          if (pending.delete(id)) finishedAt.push(performance.now());
        }
        return pending.size === 0 || undefined;
      },
      { timeoutMs: 600_000, intervalMs: 20 },
    );
    const seconds = (performance.now() - started) / 1000;
    // Steady state: from the 10% mark to the last order, past the token bucket's initial burst
    // (a full bucket hands out `rate` requests at once, which would flatter a short run).
    finishedAt.sort((a, b) => a - b);
    const from = Math.floor(orders * 0.1);
    const steadyOrdersPerSecond =
      (orders - 1 - from) / ((finishedAt[orders - 1]! - finishedAt[from]!) / 1000);
    const log = await requestLog();
    const minimumCallsPerOrder = MINIMUM["new (PaymentMethod)"]!.minimum;
    const budget = rateLimit / minimumCallsPerOrder;
    const ordersPerSecond = steadyOrdersPerSecond;
    const overallOrdersPerSecond = orders / seconds;
    return {
      calls,
      throughput: {
        orders,
        failed: ids.filter((id) => outcomeOf(id)?.status !== "applied").length,
        seconds: Math.round(seconds * 100) / 100,
        ordersPerSecond: Math.round(ordersPerSecond * 100) / 100,
        overallOrdersPerSecond: Math.round(overallOrdersPerSecond * 100) / 100,
        rateLimit,
        clientRate,
        minimumCallsPerOrder,
        budgetOrdersPerSecond: budget,
        fractionOfBudget: Math.round((ordersPerSecond / budget) * 1000) / 1000,
        stripeRequests: log.length,
        http429: log.filter((r) => r.status === 429).length,
      },
    };
  } finally {
    await h.stop();
    await stopInfra();
  }
}

export function formatWriterBenchmark(result: WriterBenchmarkResult): string {
  const rows = result.calls.map(
    (c) =>
      `| ${c.action} | ${c.calls} | ${c.minimum} | ${c.calls === c.minimum ? "yes" : `${c.calls - c.minimum > 0 ? "+" : ""}${c.calls - c.minimum}`} | ${c.detail.replace(/\/(sub_sched|cus|sub|pm|in)_[A-Za-z0-9]+/g, "/:id")} |`,
  );
  const t = result.throughput;
  return [
    "| action | Stripe calls | minimum | at minimum | calls made |",
    "|---|---|---|---|---|",
    ...rows,
    "",
    `Throughput (new orders with a PaymentMethod, warm caches; writer limiter ${t.clientRate} req/s, emulator limit ${t.rateLimit} req/s):`,
    `  ${t.orders} orders in ${t.seconds} s (${t.overallOrdersPerSecond} orders/s overall, initial burst included); steady state ${t.ordersPerSecond} orders/s; budget ${t.rateLimit}/${t.minimumCallsPerOrder} = ${t.budgetOrdersPerSecond} orders/s; ` +
      `fraction ${t.fractionOfBudget}; failed ${t.failed}; Stripe requests ${t.stripeRequests} (${(t.stripeRequests / t.orders).toFixed(2)}/order), 429s ${t.http429}`,
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runWriterBenchmark();
  console.log(formatWriterBenchmark(result));
  console.log(JSON.stringify(result));
  process.exit(0);
}
