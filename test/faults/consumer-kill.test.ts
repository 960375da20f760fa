// Fault scenario 2: each consumer SIGKILLed mid-run and started again. The stripe-writer is
// killed while it applies a stream of new orders (Stripe calls in flight, steps half recorded);
// the sync-consumer is killed while it links and syncs them. Both come back on the same group
// and resume from the last committed offsets: every order applied exactly once, zero drift.
import { freshDatabase } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Accepted,
  newClientStats,
  planNewOrders,
  pool,
  shopCards,
  storeProgress,
  submitOrder,
  until,
} from "../support/orders.ts";
import { checkEndState, type Scenario, startScenario } from "../support/scenario.ts";

// Fewer than scenario 1's 500: each kill costs a consumer-group session timeout (~30 s) before
// the dead member's partitions move, and the suite's time budget is shared.
const ORDERS = Number(process.env.FAULT_KILL_ORDERS ?? 200);

let scenario: Scenario;
beforeAll(async () => {
  scenario = await startScenario({
    databaseUrl: await freshDatabase("faults_kill"),
  });
}, 180_000);
afterAll(async () => {
  await scenario?.stop();
}, 120_000);

describe("each consumer SIGKILLed mid-run and restarted", () => {
  it(`${ORDERS} orders: writer and sync-consumer killed while working, same end state, no duplicates`, async () => {
    const { services, stripe, store, run } = scenario;
    const started = Date.now();
    const cards = await shopCards(stripe, ORDERS);
    const planned = planNewOrders(run, cards);
    const stats = newClientStats();
    const deadline = Date.now() + 240_000;
    const orderIds: string[] = [];

    type Kill = { at: Record<string, number>; restartSeconds: number };
    const kills: Record<"writer" | "sync", Kill | undefined> = { writer: undefined, sync: undefined };
    const killWhen = async (
      what: string,
      name: "writer" | "sync",
      ready: (p: Awaited<ReturnType<typeof storeProgress>>) => boolean,
    ) => {
      const at = await until(
        what,
        async () => {
          if (orderIds.length < ORDERS / 4) return undefined;
          const progress = await storeProgress(store, orderIds);
          return ready(progress) ? progress : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 50 },
      );
      const t = Date.now();
      await services.restart(name);
      kills[name] = { at: { ...at, total: ORDERS }, restartSeconds: (Date.now() - t) / 1000 };
    };
    // The writer once a fifth of the orders is applied, while it is in the middle of some (orders
    // recorded as processing: between Stripe calls); the sync once a third is synced, while
    // applied orders still wait for their sync.
    const writerKill = killWhen(
      "a fifth of the orders applied and some in progress",
      "writer",
      (p) => p.applied >= ORDERS / 5 && p.processing > 0,
    );
    const syncKill = killWhen(
      "a third of the orders synced and more waiting",
      "sync",
      (p) => p.synced >= ORDERS / 3 && p.applied > p.synced,
    );

    const accepted: Accepted[] = await pool(planned, 10, async (order) => {
      const answer = await submitOrder(services, order, stats, { deadline });
      orderIds.push(answer.orderId);
      return answer;
    });
    await Promise.all([writerKill, syncKill]);

    // Both were killed with work left: orders not applied yet, subscriptions not synced yet.
    expect(kills.writer!.at.processing).toBeGreaterThan(0);
    expect(kills.writer!.at.applied).toBeLessThan(ORDERS);
    expect(kills.sync!.at.synced).toBeLessThan(kills.sync!.at.applied!);
    expect(services.restarts).toMatchObject({ writer: 1, sync: 1, gateway: 0, emulator: 0 });

    const end = await checkEndState(scenario, "consumer-kill", accepted, {
      started,
      client: stats,
      extra: {
        writerKilledAt: kills.writer!.at,
        syncKilledAt: kills.sync!.at,
        writerRestartS: kills.writer!.restartSeconds.toFixed(1),
        syncRestartS: kills.sync!.restartSeconds.toFixed(1),
      },
    });
    expect(end.progress.synced).toBe(ORDERS);
    expect(end.exactlyOnce.problems).toEqual([]);
    expect(end.exactlyOnce.stripeSubscriptions).toBe(ORDERS);
    expect(end.drift.drifted).toEqual([]);
    expect(services.unexpectedExits).toEqual([]);
  }, 480_000);
});
