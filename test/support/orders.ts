// What the fault tests do around the running services: a Limio-like order client that retries
// on 503 honouring Retry-After, the catalog and cards they need, and the end-state checks
// (exactly one Stripe subscription per order, every order linked in the Limio store, zero drift).
import { readFile } from "node:fs/promises";
import { demoCatalogUrl } from "@bridge/domain";
import { createLogger } from "@bridge/observability";
import { createStore, loadCatalog, type Store } from "@bridge/store";
import { createStripeClient, type Stripe } from "@bridge/stripe-client";
import { type ReconcileResult, reconcileSubscription } from "@bridge/sync-core";
import { newOrderBody } from "../../scripts/lib/shop.ts";

/** Loads the demo catalog into a migrated database, so the writer can price orders. */
export async function loadDemoCatalog(databaseUrl: string): Promise<number> {
  const store = createStore(databaseUrl, { poolSize: 1 });
  try {
    return (await loadCatalog(store.db, JSON.parse(await readFile(demoCatalogUrl, "utf8")))).offers.length;
  } finally {
    await store.close();
  }
}

/** A Stripe SDK client on the emulator for the test itself (no limiter worth the name). */
export function testStripe(stripeApiUrl: string): Stripe {
  return createStripeClient({
    secretKey: "sk_test_fault_client",
    apiUrl: stripeApiUrl,
    ratePerSecond: 10_000,
  }).stripe;
}

/** Runs `fn` over `items` with at most `concurrency` at a time; results in input order. */
export async function pool<T, R>(
  items: T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
) {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index]!, index);
      }
    }),
  );
  return results;
}

/** What the shop's Stripe.js does at checkout: PaymentMethods created from card tokens. */
export async function shopCards(stripe: Stripe, count: number, token = "tok_visa"): Promise<string[]> {
  return pool(Array.from({ length: count }), 8, async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await stripe.paymentMethods.create({ type: "card", card: { token } })).id;
      } catch (error) {
        // Stripe's 429s do not ask the SDK to retry: back off as a shop would, up to a bound.
        if (attempt >= 20 || (error as { statusCode?: number }).statusCode !== 429) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  });
}

export type PlannedOrder = { externalId: string; email: string; body: Record<string, unknown> };

/** `count` new orders (Digital Monthly, paid with a `pm_…`), each with its own external_id and email. */
export function planNewOrders(run: string, cards: string[]): PlannedOrder[] {
  return cards.map((paymentMethod, i) => {
    const externalId = `fault-${run}-${i}`;
    const email = `fault.${run}.${i}@example.com`;
    return {
      externalId,
      email,
      body: { ...newOrderBody(email, paymentMethod), external_id: externalId },
    };
  });
}

export type ClientStats = {
  /** HTTP attempts, first tries and retries. */
  attempts: number;
  /** Orders the gateway answered 2xx. */
  accepted: number;
  /** Retries after a 503 (Retry-After honoured). */
  retries503: number;
  /** Retries after another 5xx or a connection error (the gateway was down or its database was). */
  retriesOther: number;
  /** Resubmissions of an already accepted order, answered with the same order id (deduplicated). */
  resubmitted: number;
  /** Sum of the Retry-After waits honoured, ms. */
  retryAfterWaitMs: number;
  statuses: Record<string, number>;
};

export const newClientStats = (): ClientStats => ({
  attempts: 0,
  accepted: 0,
  retries503: 0,
  retriesOther: 0,
  resubmitted: 0,
  retryAfterWaitMs: 0,
  statuses: {},
});

export type Accepted = { orderId: string; subscriptionId: string; externalId: string; email: string };

/**
 * Posts one order the way Limio's Send Order integration would: until a 2xx, waiting what
 * Retry-After says after a 503 (1 s after another 5xx or a connection error). A 4xx is a bug here.
 */
export async function submitOrder(
  target: { gatewayUrl: string; apiKey: string },
  order: PlannedOrder,
  stats: ClientStats,
  options: { deadline: number | (() => number); resubmission?: boolean },
): Promise<Accepted> {
  const deadline = () => (typeof options.deadline === "number" ? options.deadline : options.deadline());
  let last = "";
  for (;;) {
    if (Date.now() > deadline())
      throw new Error(`order ${order.externalId} not accepted before the deadline; last answer: ${last}`);
    stats.attempts += 1;
    let status = 0;
    let retryAfter: string | null = null;
    let json: Record<string, unknown> | undefined;
    try {
      const response = await fetch(`${target.gatewayUrl}/api/orders`, {
        method: "POST",
        headers: { authorization: `Bearer ${target.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify(order.body),
        signal: AbortSignal.timeout(30_000),
      });
      status = response.status;
      retryAfter = response.headers.get("retry-after");
      json = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
    } catch {
      status = 0; // connection refused / reset / timeout
    }
    stats.statuses[String(status)] = (stats.statuses[String(status)] ?? 0) + 1;
    last = `${status} ${JSON.stringify(json ?? null).slice(0, 300)}`;
    if (status >= 200 && status < 300 && json) {
      if (options.resubmission) stats.resubmitted += 1;
      else stats.accepted += 1;
      return {
        orderId: String(json.id),
        subscriptionId: String(json.subscriptionId),
        externalId: order.externalId,
        email: order.email,
      };
    }
    if (status >= 400 && status < 500) {
      throw new Error(`order ${order.externalId}: ${status} ${JSON.stringify(json)}`);
    }
    let waitMs = 1000;
    if (status === 503) {
      stats.retries503 += 1;
      const seconds = Number(retryAfter);
      if (Number.isFinite(seconds) && seconds > 0) waitMs = seconds * 1000;
      stats.retryAfterWaitMs += waitMs;
    } else {
      stats.retriesOther += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

/** Thrown by a check to end the polling at once. */
class StalledError extends Error {}

/** Polls `check` until it returns a value (not undefined), or throws naming `what` at the deadline. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; describe?: () => Promise<string> | string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof StalledError) throw error;
      lastError = error; // e.g. the database is restarting: try again
    }
    if (Date.now() > deadline) {
      const detail = options.describe ? await options.describe() : "";
      throw new Error(
        `${what} did not happen within ${options.timeoutMs} ms${lastError ? ` (last error: ${(lastError as Error).message})` : ""} ${detail}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
  }
}

export type StoreProgress = {
  /** Recorded by the writer, not finished (it is between Stripe calls). */
  processing: number;
  applied: number;
  linked: number;
  synced: number;
  failed: number;
  total: number;
};

/** How far the orders got in the Limio store: applied, linked to Stripe, synced (active with a card). */
export async function storeProgress(store: Store, orderIds: string[]): Promise<StoreProgress> {
  const rows = await store.db.$queryRaw<
    { processing: bigint; applied: bigint; linked: bigint; synced: bigint; failed: bigint }[]
  >`
    SELECT
      count(*) FILTER (WHERE o.status = 'processing') AS processing,
      count(*) FILTER (WHERE o.status = 'applied') AS applied,
      count(*) FILTER (WHERE o.status = 'applied' AND s."stripeSubscriptionId" IS NOT NULL) AS linked,
      count(*) FILTER (WHERE o.status = 'applied' AND s."stripeSubscriptionId" IS NOT NULL
                         AND s.status = 'active' AND pm."subscriptionId" IS NOT NULL) AS synced,
      count(*) FILTER (WHERE o.status = 'failed') AS failed
    FROM "Order" o
    LEFT JOIN "Subscription" s ON s.id = o."subscriptionId"
    LEFT JOIN "PaymentMethod" pm ON pm."subscriptionId" = s.id
    WHERE o.id = ANY(${orderIds})`;
  const row = rows[0]!;
  return {
    processing: Number(row.processing),
    applied: Number(row.applied),
    linked: Number(row.linked),
    synced: Number(row.synced),
    failed: Number(row.failed),
    total: orderIds.length,
  };
}

/** Waits until every order is applied, linked and synced in the Limio store. */
export async function waitUntilSettled(
  store: Store,
  orderIds: string[],
  timeoutMs: number,
  stallMs = 90_000,
): Promise<StoreProgress> {
  let last: StoreProgress | undefined;
  let changedAt = Date.now();
  return until(
    `every one of ${orderIds.length} orders applied, linked and synced`,
    async () => {
      const now = await storeProgress(store, orderIds);
      if (JSON.stringify(now) !== JSON.stringify(last)) changedAt = Date.now();
      last = now;
      if (now.synced === orderIds.length) return now;
      // Stalled: the consumers' retries (in place, then the retry topic's 5–20 s) are long over.
      if (Date.now() - stallMs > changedAt)
        throw new StalledError(`no progress for ${stallMs / 1000} s; last seen ${JSON.stringify(now)}`);
      return undefined;
    },
    { timeoutMs, intervalMs: 500, describe: () => `; last seen ${JSON.stringify(last)}` },
  );
}

export type ExactlyOnceReport = {
  stripeSubscriptions: number;
  stripeCustomers: number;
  problems: string[];
};

/**
 * Every accepted order has exactly one Stripe subscription (grouped by metadata.limio_order_id),
 * none exists for anything else, each order's email has exactly one Stripe customer, and the
 * Limio subscription of each order is linked to exactly that Stripe subscription.
 */
export async function checkExactlyOnce(
  stripe: Stripe,
  store: Store,
  orders: Accepted[],
): Promise<ExactlyOnceReport> {
  const problems: string[] = [];
  const subscriptions = await stripe.subscriptions
    .list({ status: "all", limit: 100 })
    .autoPagingToArray({ limit: 10_000 });
  const byOrder = new Map<string, Stripe.Subscription[]>();
  for (const sub of subscriptions) {
    const orderId = sub.metadata?.limio_order_id ?? "(none)";
    byOrder.set(orderId, [...(byOrder.get(orderId) ?? []), sub]);
  }
  const customers = await stripe.customers.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
  const customersByEmail = new Map<string, number>();
  for (const customer of customers) {
    if (customer.email) customersByEmail.set(customer.email, (customersByEmail.get(customer.email) ?? 0) + 1);
  }
  const linked = new Map(
    (
      await store.db.subscription.findMany({
        where: { id: { in: orders.map((o) => o.subscriptionId) } },
        select: { id: true, stripeSubscriptionId: true },
      })
    ).map((s) => [s.id, s.stripeSubscriptionId]),
  );
  const known = new Set(orders.map((o) => o.orderId));
  for (const order of orders) {
    const subs = byOrder.get(order.orderId) ?? [];
    if (subs.length !== 1) problems.push(`${order.orderId}: ${subs.length} Stripe subscriptions`);
    const customerCount = customersByEmail.get(order.email) ?? 0;
    if (customerCount !== 1)
      problems.push(`${order.orderId}: ${customerCount} Stripe customers for its email`);
    const link = linked.get(order.subscriptionId);
    if (link === undefined) problems.push(`${order.orderId}: no Limio subscription ${order.subscriptionId}`);
    else if (subs.length === 1 && link !== subs[0]!.id)
      problems.push(`${order.subscriptionId}: linked to ${link}, Stripe has ${subs[0]!.id}`);
  }
  for (const [orderId, subs] of byOrder) {
    if (!known.has(orderId))
      problems.push(`${subs.length} Stripe subscriptions for unknown order ${orderId}`);
  }
  return { stripeSubscriptions: subscriptions.length, stripeCustomers: customers.length, problems };
}

export type DriftReport = {
  checked: number;
  inSync: number;
  drifted: ReconcileResult[];
  firstPassDrift: number;
};

/**
 * `reconcileSubscription` (the CLI's `bridge reconcile`) for each subscription: a dry-run sync
 * reporting what a sync would change. A subscription found drifting is checked again for up to
 * `settleMs` (a sync still in flight in Kafka may not have committed yet); what still drifts then
 * is reported.
 */
export async function reconcileAll(
  databaseUrl: string,
  stripeApiUrl: string,
  subscriptionIds: string[],
  settleMs = 30_000,
): Promise<DriftReport> {
  const store = createStore(databaseUrl, { poolSize: 8 });
  const stripe = testStripe(stripeApiUrl);
  const deps = { store, stripe, logger: createLogger("fault-test-reconcile", { level: "silent" }) };
  try {
    const first = await pool(subscriptionIds, 8, (id) => reconcileSubscription(deps, id));
    let drifted = first.filter((r) => r.status !== "in_sync");
    const firstPassDrift = drifted.length;
    const deadline = Date.now() + settleMs;
    while (drifted.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      drifted = (await pool(drifted, 8, (r) => reconcileSubscription(deps, r.subscriptionId))).filter(
        (r) => r.status !== "in_sync",
      );
    }
    return {
      checked: subscriptionIds.length,
      inSync: subscriptionIds.length - drifted.length,
      drifted,
      firstPassDrift,
    };
  } finally {
    await store.close();
  }
}

export type StripeRequestFigures = {
  requests: number;
  injected500: number;
  injected429: number;
  /** Keyed POSTs Stripe answered from its idempotency store instead of applying again. */
  idempotentReplays: number;
  /** Writes sent again with the key of an earlier attempt (after a failure, a kill, a redelivery). */
  keyedRetries: number;
};

/** Figures from the emulator's request log. */
export async function stripeRequestFigures(stripeApiUrl: string): Promise<StripeRequestFigures> {
  const log = (await (await fetch(`${stripeApiUrl}/_emulator/requests`)).json()) as {
    data: { method: string; status: number; idempotencyKey: string | null }[];
  };
  const succeeded = new Set<string>();
  const seen = new Set<string>();
  let idempotentReplays = 0;
  let keyedRetries = 0;
  for (const entry of log.data) {
    if (entry.method !== "POST" || !entry.idempotencyKey) continue;
    if (seen.has(entry.idempotencyKey)) keyedRetries += 1;
    seen.add(entry.idempotencyKey);
    if (entry.status >= 400) continue;
    if (succeeded.has(entry.idempotencyKey)) idempotentReplays += 1;
    else succeeded.add(entry.idempotencyKey);
  }
  return {
    requests: log.data.length,
    injected500: log.data.filter((r) => r.status === 500).length,
    injected429: log.data.filter((r) => r.status === 429).length,
    idempotentReplays,
    keyedRetries,
  };
}

/** One line of figures, printed by every fault scenario. */
export function printFigures(scenario: string, figures: Record<string, unknown>): void {
  const text = Object.entries(figures)
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(" ");
  process.stdout.write(`[faults:${scenario}] ${text}\n`);
}

/** The most frequent warnings and errors of a service's JSON log: a failure's context. */
export function logSummary(output: string, top = 8): string {
  const counts = new Map<string, number>();
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as {
        level?: number;
        msg?: string;
        error?: unknown;
        err?: { message?: string };
      };
      if ((entry.level ?? 0) < 40) continue;
      const error = typeof entry.error === "string" ? entry.error : entry.err?.message;
      const key = `${entry.msg ?? "?"}${error ? ` (${error})` : ""}`.slice(0, 200);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    } catch {
      // not a log line
    }
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, n]) => `  ${n}× ${k}`)
    .join("\n");
}
