// Fault scenario 4: the Stripe emulator fails 20% of every call (10% 500, 10% 429) and answers
// slowly (0–100 ms extra) while a stream of new orders goes through the gateway, the writer (SDK
// retries off, so every failure reaches the step runner and the consumer runtime's retries) and
// the sync-consumer. Every order is still applied exactly once, with zero drift.
import { freshDatabase } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Accepted,
  newClientStats,
  planNewOrders,
  pool,
  shopCards,
  submitOrder,
} from "../support/orders.ts";
import { checkEndState, type Scenario, startScenario } from "../support/scenario.ts";

// Fewer than scenario 1's 500: with a fifth of the calls failing, a failed message waits out
// its backoff (and sometimes the retry topic's 5 s delay), and the suite's time budget is shared.
const ORDERS = Number(process.env.FAULT_STRIPE_ORDERS ?? 200);

let scenario: Scenario;
beforeAll(async () => {
  scenario = await startScenario({
    databaseUrl: await freshDatabase("faults_stripe"),
    env: { writer: { STRIPE_MAX_NETWORK_RETRIES: "0" } },
  });
}, 180_000);
afterAll(async () => {
  await scenario?.stop();
}, 120_000);

const putFaults = async (url: string, body: unknown) => {
  const response = await fetch(`${url}/_emulator/faults`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`PUT /_emulator/faults → ${response.status}`);
};

describe("the Stripe emulator failing 20% of calls", () => {
  it(`${ORDERS} orders through 500s, 429s and slow answers: each applied exactly once, zero drift`, async () => {
    const { services, stripe, run } = scenario;
    const started = Date.now();
    const cards = await shopCards(stripe, ORDERS);
    const planned = planNewOrders(run, cards);
    const stats = newClientStats();

    // From here on, only the services' calls are in the request log the figures come from.
    await fetch(`${services.stripeApiUrl}/_emulator/requests`, { method: "DELETE" });
    await putFaults(services.stripeApiUrl, {
      seed: 11,
      rules: { "*": { error500: 0.1, rateLimit429: 0.1, delayMs: [0, 100] } },
    });
    let faultsOn = true;
    try {
      const accepted: Accepted[] = await pool(planned, 10, (order) =>
        submitOrder(services, order, stats, { deadline: Date.now() + 240_000 }),
      );
      const end = await checkEndState(scenario, "stripe-faults", accepted, {
        started,
        client: stats,
        afterSettled: async () => {
          await putFaults(services.stripeApiUrl, { rules: {} });
          faultsOn = false;
        },
      });
      const injected = end.stripe.injected500 + end.stripe.injected429;
      // The faults were real: well over a tenth of the services' calls failed.
      expect(injected).toBeGreaterThan(0.1 * end.stripe.requests);
      expect(end.progress.synced).toBe(ORDERS);
      expect(end.exactlyOnce.problems).toEqual([]);
      expect(end.exactlyOnce.stripeSubscriptions).toBe(ORDERS);
      expect(end.drift.drifted).toEqual([]);
      expect(services.unexpectedExits).toEqual([]);
    } finally {
      if (faultsOn) await putFaults(services.stripeApiUrl, { rules: {} }).catch(() => undefined);
    }
  }, 480_000);
});
