// The shared budget's process side over a store double; the Postgres side and several processes
// together are tested against a real Postgres in test/stripe-budget/.
import { describe, expect, it } from "vitest";
import {
  type BudgetMode,
  type BudgetStore,
  type BudgetTakeRequest,
  createSharedBudget,
} from "./shared-budget.ts";

function storeDouble(members = 3) {
  const requests: BudgetTakeRequest[] = [];
  let failing = false;
  const store: BudgetStore = {
    async take(request) {
      if (failing) throw new Error("connection refused");
      requests.push(request);
      return { granted: request.want, waitMs: 0 };
    },
    heartbeat: async () => members,
    leave: async () => {},
  };
  return { store, requests, fail: (value: boolean) => (failing = value) };
}

describe("shared Stripe budget", () => {
  it("takes for both lanes against the account's whole limit, background work leaving the reserve", async () => {
    const double = storeDouble();
    const orders = createSharedBudget({ store: double.store, lane: "orders", limitPerSecond: 25 });
    const background = createSharedBudget({ store: double.store, lane: "background", limitPerSecond: 25 });
    await orders.acquire();
    await background.acquire();
    // The store keeps the reserve free for background work only while orders are active.
    expect(double.requests.map(({ limit, reserve, priority }) => ({ limit, reserve, priority }))).toEqual([
      { limit: 25, reserve: 3, priority: true },
      { limit: 25, reserve: 3, priority: false },
    ]);
    await Promise.all([orders.close(), background.close()]);
  });

  it("falls back to its share of the account while the store fails, and shares again after", async () => {
    const double = storeDouble(3);
    const modes: BudgetMode[] = [];
    const budget = createSharedBudget({
      store: double.store,
      lane: "orders",
      limitPerSecond: 25,
      retryStoreMs: 20,
      onModeChange: (mode) => modes.push(mode),
    });
    await budget.acquire();
    // Three processes seen, plus room for one started during the outage.
    expect(budget.fallbackRatePerSecond()).toBeCloseTo(25 / 1.03 / 4, 5);

    double.fail(true);
    await budget.acquire();
    expect(budget.mode()).toBe("fallback");
    double.fail(false);
    while (budget.mode() === "fallback") await budget.acquire();
    expect(modes).toEqual(["fallback", "shared"]);
    await budget.close();
  });

  it("refuses acquisitions once closed, including those still waiting", async () => {
    const never: BudgetStore = {
      take: () => new Promise(() => {}),
      heartbeat: async () => 1,
      leave: async () => {},
    };
    const budget = createSharedBudget({
      store: never,
      lane: "background",
      limitPerSecond: 25,
      storeTimeoutMs: 60_000,
    });
    const waiting = budget.acquire();
    await budget.close();
    await expect(waiting).rejects.toThrow(/closed/);
    await expect(budget.acquire()).rejects.toThrow(/closed/);
  });
});
