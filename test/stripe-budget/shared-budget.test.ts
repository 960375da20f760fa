// One Stripe budget per account (decision 016) against a real Postgres: several budgets, in one
// process over separate connection pools and in separate processes, together stay within the
// account's limit in every one-second window; orders are served before background work; and a
// Postgres outage falls back to a local share and recovers.
import { randomUUID } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { adminDatabaseUrl, freshDatabase, until } from "@bridge/local-infra/testing";
import { createStore, type Store, stripeBudgetStore } from "@bridge/store";
import { type BudgetLane, createSharedBudget, type SharedBudget } from "@bridge/stripe-client";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startReportingChild } from "../support/reporting-child.ts";
import { busiestSecond, recordingGrants } from "../support/stripe-budget-grants.ts";

const LIMIT = 20;
/** The budget's window (its default): no window this long holds more than LIMIT grants. */
const WINDOW_MS = 1030;
const taker = path.join(path.dirname(fileURLToPath(import.meta.url)), "../support/stripe-budget-taker.ts");

let databaseUrl: string;
const stores: Store[] = [];
const budgets: SharedBudget[] = [];

beforeAll(async () => {
  databaseUrl = await freshDatabase("budget");
});

afterEach(async () => {
  await Promise.all(budgets.splice(0).map((b) => b.close()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

/** A budget over its own connection pool, as a separate process would have. */
function budgetFor(
  budgetId: string,
  lane: BudgetLane,
  grants: number[] = [],
  extra: { storeTimeoutMs?: number } = {},
) {
  const store = createStore(databaseUrl, { poolSize: 2 });
  stores.push(store);
  const budget = createSharedBudget({
    store: recordingGrants(stripeBudgetStore(store.db, budgetId), grants),
    lane,
    limitPerSecond: LIMIT,
    ...extra,
  });
  budgets.push(budget);
  return budget;
}

/** Every budget's connection pool open, so timing starts with no connection setup in it. */
async function connected() {
  await Promise.all(stores.map((store) => store.ping()));
}

/** Takes tokens as fast as they are granted until `endAt`; returns how many. */
async function takeUntil(budget: SharedBudget, endAt: number): Promise<number> {
  let taken = 0;
  while (Date.now() < endAt) {
    await budget.acquire();
    taken += 1;
  }
  return taken;
}

describe("one Stripe budget shared by every process of an account", () => {
  it("four budgets on separate connections never exceed the account's limit in any second", async () => {
    const budgetId = `acct-${randomUUID()}`;
    const lanes: BudgetLane[] = ["orders", "orders", "background", "background"];
    const all: number[] = [];
    const budgets = lanes.map((lane) => budgetFor(budgetId, lane, all));
    await connected();
    const seconds = 3;
    const endAt = Date.now() + seconds * 1000;
    await Promise.all(budgets.map((budget) => takeUntil(budget, endAt)));

    expect(busiestSecond(all)).toBeLessThanOrEqual(LIMIT);
    // Four per-process limiters would take 4 × LIMIT; the shared one uses most of one LIMIT.
    expect(all.length).toBeGreaterThanOrEqual(0.85 * LIMIT * seconds);
  });

  it("three separate processes together never exceed the account's limit in any second", async () => {
    const budgetId = `acct-${randomUUID()}`;
    const lanes: BudgetLane[] = ["orders", "orders", "background"];
    const children = lanes.map((lane) =>
      startReportingChild(taker, {
        DATABASE_URL: databaseUrl,
        BUDGET_ID: budgetId,
        LANE: lane,
        LIMIT: String(LIMIT),
        DURATION_MS: "3000",
      }),
    );
    // Every child connected before the race starts, so they all compete for the whole window.
    await until(() => children.every((c) => c.ready()), 45_000, "the takers to connect");
    for (const c of children) c.go();
    const outputs = (await Promise.all(children.map((c) => c.output))).map((stdout) => {
      const line = stdout.split("\n").find((l) => l.startsWith("grants ")) ?? "grants ";
      return line.slice("grants ".length).split(",").filter(Boolean).map(Number);
    });

    const all = outputs.flat();
    expect(busiestSecond(all)).toBeLessThanOrEqual(LIMIT);
    expect(all.length).toBeGreaterThanOrEqual(0.8 * LIMIT * 3);
    for (const grants of outputs.slice(0, 2)) expect(grants.length).toBeGreaterThan(0);
  }, 60_000);

  it("serves orders before background work when both want every token", async () => {
    const budgetId = `acct-${randomUUID()}`;
    const backgroundGrants: number[] = [];
    const orderGrants: number[] = [];
    const background = [
      budgetFor(budgetId, "background", backgroundGrants),
      budgetFor(budgetId, "background", backgroundGrants),
    ];
    const orders = budgetFor(budgetId, "orders", orderGrants);
    await connected();
    const ordersFrom = Date.now() + 1000;
    const endAt = ordersFrom + 2000;

    await Promise.all([
      ...background.map((b) => takeUntil(b, endAt)),
      (async () => {
        await until(() => Date.now() >= ordersFrom, 5000, "background work to have the bucket");
        // Several orders in flight at once, as a writer with several partitions has.
        await Promise.all(Array.from({ length: 4 }, () => takeUntil(orders, endAt)));
      })(),
    ]);

    // Alone, background work uses the budget; once orders want tokens, they get nearly all of them
    // (background work only wins a token when no order waits for it: when an order's next request
    // comes late). Without priority, background work would win about half as many as the orders.
    const backgroundAlone = backgroundGrants.filter((t) => t < ordersFrom).length;
    const backgroundAlongsideOrders = backgroundGrants.filter(
      (t) => t >= ordersFrom + 100 && t < endAt,
    ).length;
    expect(backgroundAlone).toBeGreaterThanOrEqual(0.8 * LIMIT);
    expect(orderGrants.length).toBeGreaterThanOrEqual(0.6 * LIMIT * 2);
    expect(backgroundAlongsideOrders).toBeLessThanOrEqual(0.25 * orderGrants.length);
  });

  it("lets background work fill the whole window while no order is active", async () => {
    const budgetId = `acct-${randomUUID()}`;
    const grants: number[] = [];
    const background = [budgetFor(budgetId, "background", grants), budgetFor(budgetId, "background", grants)];
    await connected();
    const endAt = Date.now() + 2500;
    // Several requests waiting in each process, as a sync-consumer handling several partitions has.
    await Promise.all(background.flatMap((b) => Array.from({ length: 4 }, () => takeUntil(b, endAt))));

    // The reserve (2 of 20) is not kept from background work when no order wants it.
    expect(busiestSecond(grants, WINDOW_MS)).toBe(LIMIT);
    expect(busiestSecond(grants)).toBeLessThanOrEqual(LIMIT);
  });

  it("gives an order arriving while background work saturates the account the next slot that frees", async () => {
    const budgetId = `acct-${randomUUID()}`;
    const backgroundGrants: number[] = [];
    const background = [
      budgetFor(budgetId, "background", backgroundGrants),
      budgetFor(budgetId, "background", backgroundGrants),
    ];
    // The order's takes, granted or not, in database time.
    const orderTakes: { at: number; granted: number }[] = [];
    const store = createStore(databaseUrl, { poolSize: 2 });
    stores.push(store);
    const inner = stripeBudgetStore(store.db, budgetId);
    const orders = createSharedBudget({
      store: {
        ...inner,
        async take(request) {
          const grant = await inner.take(request);
          orderTakes.push({ at: grant.grantedAt.getTime(), granted: grant.granted });
          return grant;
        },
      },
      lane: "orders",
      limitPerSecond: LIMIT,
    });
    budgets.push(orders);
    await connected();
    let ordersDone = false;
    const backgroundFilledTheWindow = () => {
      const now = Date.now();
      return backgroundGrants.filter((t) => t > now - WINDOW_MS).length === LIMIT;
    };
    const orderArrivals: { firstTake: number; grant: number }[] = [];
    await Promise.all([
      // Several requests waiting in each process, re-asking as soon as one is granted.
      ...background.flatMap((b) =>
        Array.from({ length: 6 }, async () => {
          while (!ordersDone) await b.acquire();
        }),
      ),
      (async () => {
        // Each order arrives once background work holds the whole window again (no order active).
        for (let i = 0; i < 2; i += 1) {
          await until(backgroundFilledTheWindow, 10_000, "background work to fill the window");
          const from = orderTakes.length;
          await orders.acquire();
          const takes = orderTakes.slice(from);
          orderArrivals.push({ firstTake: takes[0]!.at, grant: takes.at(-1)!.at });
        }
        ordersDone = true;
      })(),
    ]);

    expect(orderArrivals).toHaveLength(2);
    for (const { firstTake, grant } of orderArrivals) {
      // From the order's first take to its grant, background work got no slot: the order won the
      // first one that freed, however busy the window was …
      expect(backgroundGrants.filter((t) => t > firstTake && t < grant)).toEqual([]);
      // … and a slot frees within a window.
      expect(grant - firstTake).toBeLessThan(WINDOW_MS + 500);
    }
    expect(busiestSecond([...backgroundGrants, ...orderArrivals.map((o) => o.grant)])).toBeLessThanOrEqual(
      LIMIT,
    );
  });

  it("falls back to a local share of the account while Postgres refuses connections, then shares again", async () => {
    const budgetId = `acct-${randomUUID()}`;
    const modes: string[] = [];
    const orders = budgetFor(budgetId, "orders", [], { storeTimeoutMs: 300 });
    const background = budgetFor(budgetId, "background", [], { storeTimeoutMs: 300 });
    await orders.acquire();
    await background.acquire();
    // Both heartbeats have run: each knows two processes share the account.
    await until(
      () => orders.fallbackRatePerSecond() > orders.ratePerSecond / 5,
      5000,
      "the members to be counted",
    );
    const shareOfOrders = orders.fallbackRatePerSecond();
    const shareOfBackground = background.fallbackRatePerSecond();
    expect(shareOfOrders + shareOfBackground).toBeLessThan(LIMIT);

    const admin = new pg.Client({ connectionString: adminDatabaseUrl() });
    await admin.connect();
    const database = new URL(databaseUrl).pathname.slice(1);
    try {
      await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", [
        database,
      ]);

      const start = Date.now();
      const taken = await takeUntil(orders, start + 2000);
      expect(orders.mode()).toBe("fallback");
      modes.push(orders.mode());
      // Still serving, at no more than its share (plus the one token its local bucket starts with).
      expect(taken).toBeGreaterThan(0);
      expect(taken).toBeLessThanOrEqual(Math.ceil(shareOfOrders * ((Date.now() - start) / 1000)) + 1);
    } finally {
      await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
      await admin.end();
    }

    await until(
      async () => {
        await orders.acquire();
        return orders.mode() === "shared";
      },
      10_000,
      "the budget to share through Postgres again",
    );
    expect(modes).toEqual(["fallback"]);
  });
});

afterAll(async () => {
  await Promise.all(budgets.map((b) => b.close()));
});
