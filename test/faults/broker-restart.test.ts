// Fault scenario 1: the Kafka broker is stopped in the middle of 500 orders and started again
// (same port, same data). The gateway must answer 503 + Retry-After while the broker is down and
// never 2xx for an order Kafka did not acknowledge; a Limio-like client retries. At the end every
// accepted order is applied exactly once in Stripe, linked in the Limio store, with zero drift.
import { freshDatabase } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Accepted,
  logSummary,
  newClientStats,
  planNewOrders,
  pool,
  shopCards,
  submitOrder,
  until,
} from "../support/orders.ts";
import { checkEndState, type Scenario, startScenario } from "../support/scenario.ts";

const ORDERS = Number(process.env.FAULT_BROKER_ORDERS ?? 500);
const CONCURRENCY = 10;

let scenario: Scenario;
beforeAll(async () => {
  scenario = await startScenario({ databaseUrl: await freshDatabase("faults_broker") });
}, 180_000);
afterAll(async () => {
  await scenario?.stop();
}, 120_000);

describe("the broker stopped and restarted during a stream of orders", () => {
  it(`${ORDERS} orders: 503 while it is down, every accepted order applied exactly once, zero drift`, async () => {
    const { services, kafka, stripe, run } = scenario;
    const started = Date.now();
    const cards = await shopCards(stripe, ORDERS);
    const planned = planNewOrders(run, cards);
    const stats = newClientStats();
    // Once the broker is back, the gateway must accept again within a minute.
    let brokerBackAt = 0;
    const deadline = () => (brokerBackAt === 0 ? Date.now() + 1_000 : brokerBackAt + 60_000);

    // The outage: once a fifth of the orders is accepted, stop the broker (controlled shutdown),
    // keep it down until the client has been told 503 a good number of times, then start it.
    let outage = { stoppedAt: 0, downSeconds: 0, retries503During: 0 };
    const outageDone = (async () => {
      await until("a fifth of the orders accepted", async () => stats.accepted >= ORDERS / 5 || undefined, {
        timeoutMs: 120_000,
        intervalMs: 50,
      });
      const before = stats.retries503;
      const stoppedAt = Date.now();
      await kafka.stop();
      await until(
        "the client told 503 while the broker is down",
        async () =>
          (stats.retries503 - before >= 2 * CONCURRENCY && Date.now() - stoppedAt > 5_000) || undefined,
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      const acceptedWhileDown = stats.accepted;
      await kafka.start();
      brokerBackAt = Date.now();
      outage = {
        stoppedAt,
        downSeconds: (Date.now() - stoppedAt) / 1000,
        retries503During: stats.retries503 - before,
      };
      return acceptedWhileDown;
    })();

    let accepted: Accepted[];
    try {
      accepted = await pool(planned, CONCURRENCY, (order) =>
        submitOrder(services, order, stats, { deadline }),
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\naccepted ${stats.accepted} of ${ORDERS}; statuses ${JSON.stringify(stats.statuses)}; ` +
          `the gateway's most frequent warnings and errors:\n${logSummary(services.output("gateway"))}`,
      );
    }
    await outageDone;
    expect(kafka.starts).toBe(2);
    expect(outage.retries503During).toBeGreaterThanOrEqual(2 * CONCURRENCY);

    // A tenth of the accepted orders submitted again (a client that lost the answer): same ids.
    const again = await pool(
      planned.filter((_, i) => i % 10 === 0),
      CONCURRENCY,
      (order) => submitOrder(services, order, stats, { deadline: Date.now() + 60_000, resubmission: true }),
    );
    for (const answer of again) {
      expect(answer.orderId).toBe(accepted.find((a) => a.externalId === answer.externalId)?.orderId);
    }
    expect(new Set(accepted.map((a) => a.orderId)).size).toBe(ORDERS);

    const end = await checkEndState(scenario, "broker-restart", accepted, {
      started,
      client: stats,
      extra: {
        brokerDownSeconds: outage.downSeconds.toFixed(1),
        clientRetries503WhileDown: outage.retries503During,
      },
    });
    expect(end.progress.synced).toBe(ORDERS);
    expect(end.exactlyOnce.problems).toEqual([]);
    expect(end.exactlyOnce.stripeSubscriptions).toBe(ORDERS);
    expect(end.drift.drifted).toEqual([]);
    expect(end.drift.checked).toBe(ORDERS);
    expect(services.unexpectedExits).toEqual([]);
  }, 480_000);
});
