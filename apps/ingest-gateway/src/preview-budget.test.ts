import { randomUUID } from "node:crypto";
import { freshDatabase } from "@bridge/local-infra/testing";
import { createStore, type Store, stripeBudgetStore } from "@bridge/store";
import {
  type BudgetStore,
  createSharedBudget,
  type RateLimiter,
  type SharedBudget,
} from "@bridge/stripe-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  previewBudget,
  requestBoundLimiter,
  StripeBudgetWaitEnded,
  withinRequestBudget,
} from "./preview-budget.ts";

const LIMIT = 5;
let databaseUrl: string;
const stores: Store[] = [];
const budgets: SharedBudget[] = [];

beforeAll(async () => {
  databaseUrl = await freshDatabase("preview_budget");
});
afterEach(async () => {
  await Promise.all(budgets.splice(0).map((b) => b.close()));
});
afterAll(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/** The account's budget in Postgres, over a pool of its own, as a separate process has it. */
function budgetStoreFor(budgetId: string): BudgetStore {
  const store = createStore(databaseUrl, { poolSize: 2 });
  stores.push(store);
  return stripeBudgetStore(store.db, budgetId);
}

/** The writer's budget (the orders lane); each take can be held back to arrive late. */
function writerBudget(budgetId: string) {
  const inner = budgetStoreFor(budgetId);
  const state = { delayMs: 0, takes: 0 };
  const budget = createSharedBudget({
    store: {
      ...inner,
      async take(request) {
        if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
        state.takes += 1;
        return inner.take(request);
      },
    },
    lane: "orders",
    limitPerSecond: LIMIT,
  });
  budgets.push(budget);
  return { budget, state };
}

/** The gateway's preview budget for the account. */
function gatewayPreviewBudget(budgetId: string) {
  const budget = previewBudget("sk_test_unused", () => budgetStoreFor(budgetId), LIMIT);
  budgets.push(budget);
  return budget;
}

const bound = (waitMs: number, signal = new AbortController().signal) => ({
  deadline: Date.now() + waitMs,
  signal,
});

describe("the preview's Stripe budget", () => {
  it("never takes a slot an order waits for, even when it asks first once the slot frees", async () => {
    const budgetId = `acct-${randomUUID()}`;
    const writer = writerBudget(budgetId);
    const previews = requestBoundLimiter(gatewayPreviewBudget(budgetId), { maxWaiting: 5 });
    // Orders fill the window.
    await Promise.all(Array.from({ length: LIMIT }, () => writer.budget.acquire()));

    // An order waits for the next slot; its takes reach the store 150 ms late from now on, so the
    // preview, waiting too, asks for the freed slot before the order comes back for it.
    const served: string[] = [];
    writer.state.delayMs = 150;
    const takesBefore = writer.state.takes;
    const order = writer.budget.acquire().then(() => served.push("order"));
    while (writer.state.takes === takesBefore) await new Promise((resolve) => setTimeout(resolve, 10));
    const preview = withinRequestBudget(bound(10_000), () => previews.acquire()).then(() =>
      served.push("preview"),
    );
    await Promise.all([order, preview]);
    expect(served).toEqual(["order", "preview"]);
  });

  it("bounds a preview's wait by its request: 503-worthy on timeout, at once when the client left or too many wait", async () => {
    const budgetId = `acct-${randomUUID()}`;
    const writer = writerBudget(budgetId);
    await Promise.all(Array.from({ length: LIMIT }, () => writer.budget.acquire()));
    const previews = requestBoundLimiter(gatewayPreviewBudget(budgetId), { maxWaiting: 2 });

    let started = Date.now();
    const timedOut = await withinRequestBudget(bound(200), () => previews.acquire()).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(StripeBudgetWaitEnded);
    expect((timedOut as StripeBudgetWaitEnded).reason).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(600);

    // The first given-up wait is still outstanding (the budget cannot withdraw it): one more may
    // wait, the next is refused at once; the client leaving ends its wait.
    const client = new AbortController();
    const waiting = withinRequestBudget(bound(10_000, client.signal), () => previews.acquire()).catch(
      (e: unknown) => e,
    );
    started = Date.now();
    const busy = await withinRequestBudget(bound(10_000), () => previews.acquire()).catch((e: unknown) => e);
    expect((busy as StripeBudgetWaitEnded).reason).toBe("busy");
    client.abort();
    expect(((await waiting) as StripeBudgetWaitEnded).reason).toBe("aborted");
    expect(Date.now() - started).toBeLessThan(300);
  });

  it("rejects the request's work as soon as a wait ends, though the SDK would retry the refused call", async () => {
    const never: RateLimiter = { ratePerSecond: 1, acquire: () => new Promise(() => {}) };
    const limiter = requestBoundLimiter(never, { maxWaiting: 10 });
    const started = Date.now();
    const result = await withinRequestBudget(bound(100), async () => {
      // As the Stripe SDK does with a failed request: swallow and try again after a backoff.
      await limiter.acquire().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      return "retried";
    }).catch((e: unknown) => e);
    expect(result).toBeInstanceOf(StripeBudgetWaitEnded);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
