// Fault scenario 3: the Limio store's Postgres (this test's own server, not the run's shared one)
// is stopped while the sync-consumer is syncing a stream of orders and started again on the same
// port and data directory. The services must notice (readiness goes red), retry, and recover by
// themselves: every order applied exactly once, linked, synced, zero drift.
import { createDatabase, type RestartablePostgres, startRestartablePostgres } from "@bridge/local-infra";
import { applyMigrations } from "@bridge/store/migrations";
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
import { metricSum } from "../support/services.ts";

// Fewer than scenario 1's 500: the point is the recovery, and the suite's time budget is shared.
const ORDERS = Number(process.env.FAULT_POSTGRES_ORDERS ?? 200);

let postgres: RestartablePostgres;
let scenario: Scenario;
beforeAll(async () => {
  postgres = await startRestartablePostgres({ log: () => {} });
  const databaseUrl = await createDatabase(postgres.url, "bridge_faults");
  await applyMigrations(databaseUrl);
  scenario = await startScenario({ databaseUrl });
}, 180_000);
afterAll(async () => {
  await scenario?.stop();
  await postgres?.dispose();
}, 120_000);

const ready = async (url: string) => {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
};

describe("the store's Postgres restarted during syncs", () => {
  it(`${ORDERS} orders: the services retry through the restart, each order applied once, zero drift`, async () => {
    const { services, stripe, store, run } = scenario;
    const started = Date.now();
    const cards = await shopCards(stripe, ORDERS);
    const planned = planNewOrders(run, cards);
    const stats = newClientStats();
    const orderIds: string[] = [];
    const readyz = {
      writer: `http://127.0.0.1:${services.ports.writer}/readyz`,
      sync: `http://127.0.0.1:${services.ports.sync}/readyz`,
    };

    const post = (orders: typeof planned) =>
      pool(orders, 10, async (order) => {
        const answer = await submitOrder(services, order, stats, { deadline: Date.now() + 240_000 });
        orderIds.push(answer.orderId);
        return answer;
      });

    // First wave: half the orders, posted while everything is up.
    const firstWave = await post(planned.slice(0, ORDERS / 2));
    // The restart while the writer applies and the sync-consumer syncs them.
    const at = await until(
      "orders being applied and synced",
      async () => {
        const p = await storeProgress(store, orderIds);
        return p.applied >= ORDERS / 10 && p.synced >= ORDERS / 40 && p.applied > p.synced ? p : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 50 },
    );
    const syncFailed = async () =>
      metricSum(await services.metrics("sync"), "messaging_messages_failed_total");
    const gatewayFailures = () => stats.retriesOther + stats.retries503;
    const before = { gateway: gatewayFailures(), sync: await syncFailed() };
    const t = Date.now();
    await postgres.stop();
    // Second wave: the other half, posted into the outage (the gateway reads the store).
    const secondWave = post(planned.slice(ORDERS / 2));
    // Down until every part felt it: both consumers report the database down, the gateway
    // failed submissions, and the sync-consumer's handlers failed.
    await until(
      "the outage felt by the gateway, the writer and the sync-consumer",
      async () =>
        (!(await ready(readyz.writer)) &&
          !(await ready(readyz.sync)) &&
          gatewayFailures() - before.gateway >= 20 &&
          (await syncFailed()) - before.sync >= 3) ||
        undefined,
      {
        timeoutMs: 30_000,
        intervalMs: 100,
        describe: async () =>
          `: writer ready ${await ready(readyz.writer)}, sync ready ${await ready(readyz.sync)}, ` +
          `gateway failures ${gatewayFailures() - before.gateway}, ` +
          `sync handler failures ${(await syncFailed()) - before.sync}`,
      },
    );
    const outage = {
      at,
      gatewayFailures: gatewayFailures() - before.gateway,
      syncFailures: (await syncFailed()) - before.sync,
      downSeconds: 0,
    };
    await postgres.start();
    outage.downSeconds = (Date.now() - t) / 1000;
    const accepted: Accepted[] = [...firstWave, ...(await secondWave)];
    expect(postgres.starts).toBe(2);
    expect(postgres.starts).toBe(2);

    // Both consumers recover on their own: ready again without a restart of theirs.
    await until(
      "the writer and the sync-consumer ready again",
      async () => ((await ready(readyz.writer)) && (await ready(readyz.sync))) || undefined,
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const end = await checkEndState(scenario, "postgres-restart", accepted, {
      started,
      client: stats,
      extra: {
        postgresDownSeconds: outage.downSeconds.toFixed(1),
        restartedAt: outage.at,
        gatewayFailuresWhileDown: outage.gatewayFailures,
        syncFailuresWhileDown: outage.syncFailures,
      },
    });
    expect(end.progress.synced).toBe(ORDERS);
    expect(end.exactlyOnce.problems).toEqual([]);
    expect(end.exactlyOnce.stripeSubscriptions).toBe(ORDERS);
    expect(end.drift.drifted).toEqual([]);
    expect(services.restarts).toMatchObject({ writer: 0, sync: 0, gateway: 0, emulator: 0 });
    expect(services.unexpectedExits).toEqual([]);
  }, 480_000);
});
