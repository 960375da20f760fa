// `npm run soak -- --minutes 10`: the system's real parts for a long mixed run (issue 16,
// acceptance 3). Not a test: like the benchmarks, run by hand, never by CI. It starts its own
// Postgres, a restartable Kafka and the four services as processes (the fault scenarios' frame,
// test/support/scenario.ts), then for --minutes mixes good orders, bad orders (each must get a
// 4xx), Stripe-side changes and test-clock renewals (their webhooks reach the gateway), Sync API
// calls, one broker restart and one sync-consumer SIGKILL + restart. Then it waits for quiescence and checks: every accepted
// order applied and synced, exactly once in Stripe, zero drift (`bridge reconcile`), and the
// gateway's RSS (sampled every 10 s) flat: first minute against last minute. Exit 1 on a failed check.
import { parseArgs } from "node:util";
import {
  applyStoreMigrations,
  createDatabase,
  startLocalPostgres,
  uniqueDatabaseName,
} from "@bridge/local-infra";
import { type Accepted, newClientStats, shopCards, submitOrder } from "../test/support/orders.ts";
import { checkEndState, startScenario } from "../test/support/scenario.ts";
import { metricSum } from "../test/support/services.ts";
import { demoOffers, newOrderBody } from "./lib/shop.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    /** Good orders per second. */
    rate: { type: "string", default: "0.5" },
  },
});
const minutes = Number(values.minutes);
const orderIntervalMs = 1000 / Number(values.rate);
if (!(minutes > 0) || !(orderIntervalMs > 0))
  throw new Error("--minutes and --rate must be positive numbers");

/** Bodies the gateway must refuse with a 4xx (never publish): broken in the ways issue 16 lists. */
function badOrder(n: number, good: Record<string, unknown>): string {
  const json = (body: Record<string, unknown>) => JSON.stringify(body);
  const bad = [
    () =>
      json({ ...good, customerDetails: { firstName: "A\u0000da", lastName: "L", email: "a@example.com" } }),
    () => json({ ...good, external_id: "lone\ud800surrogate" }),
    () =>
      json({
        ...good,
        orderItems: [{ offer: { id: demoOffers.digitalMonthly.id }, quantity: 9_007_199_254_740_991 }],
      }),
    () => json({ ...good, orderItems: [] }),
    () => json({ ...good, order_type: "teleport" }),
    // 10,000 levels deep (written as text: JSON.stringify would overflow the stack).
    () => `${json(good).slice(0, -1)},"unknownField":${"[".repeat(10_000)}${"]".repeat(10_000)}}`,
  ];
  return bad[n % bad.length]!();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (text: string): void => {
  process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
};

async function main(): Promise<number> {
  log(`starting Postgres, Kafka and the four services for a ${minutes}-minute soak`);
  const postgres = await startLocalPostgres({ log: () => {} });
  const databaseUrl = await createDatabase(postgres.url, uniqueDatabaseName("soak"));
  await applyStoreMigrations(databaseUrl);
  const scenario = await startScenario({ databaseUrl });
  const { services, kafka, stripe, run } = scenario;
  const headers = { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" };
  try {
    const started = Date.now();
    const endAt = started + minutes * 60_000;
    const running = () => Date.now() < endAt;
    const stats = newClientStats();
    const accepted: Accepted[] = [];
    const figures = {
      badOrders: 0,
      badRefused4xx: 0,
      badProblems: [] as string[],
      syncCalls: {} as Record<string, number>,
      stripeSideChanges: 0,
      renewals: 0,
      brokerDownSeconds: 0,
      syncKilledAt: "",
    };
    const rss: { at: number; bytes: number }[] = [];
    const loops: Promise<unknown>[] = [];
    const every = (ms: number, work: () => Promise<void>) =>
      loops.push(
        (async () => {
          while (running()) {
            await work().catch((error) => log(`(${(error as Error).message.slice(0, 200)})`));
            await sleep(ms);
          }
        })(),
      );

    /** Email → test clock, for the orders whose customer is on one. */
    const clocks = new Map<string, string>();
    const renewed = new Set<string>();
    const linkedStripeSubscription = async (order: Accepted) => {
      const linked = await scenario.store.db.subscription.findUnique({ where: { id: order.subscriptionId } });
      return linked?.stripeSubscriptionId
        ? stripe.subscriptions.retrieve(linked.stripeSubscriptionId)
        : undefined;
    };

    // Good orders: one each interval, each retried by the client until accepted (503s while the broker is down).
    const inFlight = new Set<Promise<void>>();
    let n = 0;
    every(orderIntervalMs, async () => {
      if (inFlight.size >= 20) return;
      const i = n++;
      const [card] = await shopCards(stripe, 1);
      const email = `soak.${run}.${i}@example.com`;
      if (i % 10 === 0) {
        // A shop customer who already exists in Stripe on a test clock: the writer matches them by
        // email, so their subscription is on the clock and can be renewed below.
        const clock = await stripe.testHelpers.testClocks.create({
          frozen_time: Math.floor(Date.now() / 1000),
        });
        await stripe.customers.create({ email, name: "Ada Lovelace", test_clock: clock.id });
        clocks.set(email, clock.id);
      }
      const order = {
        externalId: `soak-${run}-${i}`,
        email,
        body: { ...newOrderBody(email, card!), external_id: `soak-${run}-${i}` },
      };
      const submitted = submitOrder(services, order, stats, { deadline: Date.now() + 180_000 })
        .then((answer) => void accepted.push(answer))
        .catch((error) => log(`good order refused: ${(error as Error).message.slice(0, 300)}`))
        .finally(() => {
          inFlight.delete(submitted);
        });
      inFlight.add(submitted);
    });

    // Bad orders: each must be refused with a 4xx, whatever else is happening.
    every(3_000, async () => {
      const body = badOrder(figures.badOrders++, newOrderBody("bad@example.com", "pm_card_visa"));
      const response = await fetch(`${services.gatewayUrl}/api/orders`, {
        method: "POST",
        headers,
        body,
      });
      await response.body?.cancel();
      if (response.status >= 400 && response.status < 500) figures.badRefused4xx += 1;
      else figures.badProblems.push(`bad order ${figures.badOrders - 1}: ${response.status}`);
    });

    // The Sync API on a random accepted subscription (404 until the sync created it in Limio).
    every(5_000, async () => {
      const order = accepted[Math.floor(Math.random() * accepted.length)];
      if (!order) return;
      const response = await fetch(
        `${services.gatewayUrl}/api/plugins/stripe/sync/subscription/${order.subscriptionId}`,
        { method: "POST", headers: { authorization: headers.authorization } },
      );
      await response.body?.cancel();
      figures.syncCalls[response.status] = (figures.syncCalls[response.status] ?? 0) + 1;
    });

    // Stripe-side changes (as a Stripe dashboard user would make them): their events reach the
    // gateway's webhook route, and the sync must carry them to Limio (the drift check says so).
    // (Not on the clocked ones: one set to cancel at period end would end at its renewal.)
    every(15_000, async () => {
      const candidates = accepted.filter((o) => !clocks.has(o.email));
      const order = candidates[Math.floor(Math.random() * candidates.length)];
      if (!order) return;
      const subscription = await linkedStripeSubscription(order);
      if (!subscription) return;
      await stripe.subscriptions.update(subscription.id, {
        metadata: { soak_note: `changed at ${new Date().toISOString()}` },
        cancel_at_period_end: !subscription.cancel_at_period_end,
      });
      figures.stripeSideChanges += 1;
    });

    // Renewals: a clocked subscription's clock moved past its period end; Stripe invoices and
    // charges the renewal and its events (invoice.paid, customer.subscription.updated…) reach the
    // sync through the webhook route, which must move Limio's term (the drift check says so).
    every(20_000, async () => {
      const order = accepted.find((o) => clocks.has(o.email) && !renewed.has(o.email));
      if (!order) return;
      const subscription = await linkedStripeSubscription(order);
      if (!subscription) return;
      const clockId = clocks.get(order.email)!;
      const periodEnd = subscription.items.data[0]!.current_period_end;
      await stripe.testHelpers.testClocks.advance(clockId, { frozen_time: periodEnd + 3600 });
      for (let i = 0; i < 150; i++) {
        if ((await stripe.testHelpers.testClocks.retrieve(clockId)).status === "ready") break;
        await sleep(200);
      }
      renewed.add(order.email);
      figures.renewals += 1;
    });

    // The gateway's resident memory every 10 s.
    every(10_000, async () => {
      const bytes = metricSum(await services.metrics("gateway"), "process_resident_memory_bytes");
      if (bytes > 0) rss.push({ at: Date.now() - started, bytes });
    });

    // One broker restart at a third of the run, one sync-consumer SIGKILL at two thirds.
    loops.push(
      (async () => {
        await sleep((endAt - started) / 3);
        log("stopping the broker");
        const down = Date.now();
        await kafka.stop();
        await sleep(10_000);
        await kafka.start();
        figures.brokerDownSeconds = (Date.now() - down) / 1000;
        log(`broker back after ${figures.brokerDownSeconds.toFixed(1)} s`);
        await sleep(Math.max(0, started + ((endAt - started) * 2) / 3 - Date.now()));
        log("SIGKILL of the sync-consumer");
        figures.syncKilledAt = `${accepted.length} orders accepted`;
        await services.kill("sync");
        await sleep(5_000);
        await services.start("sync");
        log("sync-consumer restarted");
      })(),
    );

    const progress = setInterval(
      () =>
        log(
          `${accepted.length} accepted, ${figures.badRefused4xx}/${figures.badOrders} bad refused, ` +
            `${figures.stripeSideChanges} Stripe-side changes, ${figures.renewals} renewals, sync calls ${JSON.stringify(figures.syncCalls)}`,
        ),
      60_000,
    );
    await Promise.all(loops);
    while (inFlight.size > 0) await Promise.race(inFlight);
    clearInterval(progress);
    log(`load done after ${((Date.now() - started) / 60_000).toFixed(1)} min; waiting for quiescence`);

    const end = await checkEndState(scenario, "soak", accepted, {
      started,
      client: stats,
      settleTimeoutMs: 600_000,
    });
    const webhooks = (await (
      await fetch(`${services.stripeApiUrl}/_emulator/webhooks/deliveries`)
    ).json()) as {
      data: { status?: number; attempts?: unknown[] }[];
    };
    const gatewayMetrics = await services.metrics("gateway").catch(() => "");
    const window = (from: number, to: number) => {
      const samples = rss.filter((s) => s.at >= from && s.at < to).map((s) => s.bytes);
      return samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : Number.NaN;
    };
    const totalMs = minutes * 60_000;
    const firstMinute = window(0, 60_000);
    const lastMinute = window(totalMs - 60_000, totalMs + 1);
    const growth = (lastMinute - firstMinute) / firstMinute;
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

    const checks: [string, string, boolean][] = [
      ["orders accepted (2xx)", String(accepted.length), accepted.length > 0],
      ["  applied, linked and synced", String(end.progress.synced), end.progress.synced === accepted.length],
      ["  failed", String(end.progress.failed), end.progress.failed === 0],
      [
        "bad orders refused with 4xx",
        `${figures.badRefused4xx} / ${figures.badOrders}`,
        figures.badRefused4xx === figures.badOrders,
      ],
      [
        "Stripe subscriptions",
        String(end.exactlyOnce.stripeSubscriptions),
        end.exactlyOnce.stripeSubscriptions === accepted.length,
      ],
      [
        "exactly-once problems",
        String(end.exactlyOnce.problems.length),
        end.exactlyOnce.problems.length === 0,
      ],
      [
        "drift after settle (reconcile)",
        `${end.drift.drifted.length} of ${end.drift.checked}`,
        end.drift.drifted.length === 0,
      ],
      [
        "test-clock renewals",
        `${figures.renewals} (customers on a clock: ${clocks.size})`,
        figures.renewals > 0,
      ],
      ["gateway RSS first minute", mb(firstMinute), true],
      ["gateway RSS last minute", mb(lastMinute), true],
      ["gateway RSS growth", `${(growth * 100).toFixed(1)} %`, growth < 0.25],
      [
        "unexpected service exits",
        String(services.unexpectedExits.length),
        services.unexpectedExits.length === 0,
      ],
    ];
    const info: [string, string][] = [
      ["minutes of load", minutes.toFixed(1)],
      ["client retries after 503 / other", `${stats.retries503} / ${stats.retriesOther}`],
      ["Sync API answers", JSON.stringify(figures.syncCalls)],
      ["Stripe-side changes", String(figures.stripeSideChanges)],
      ["webhook deliveries (emulator)", String(webhooks.data.length)],
      [
        "webhooks received (gateway)",
        String(metricSum(gatewayMetrics, "gateway_http_requests_total", { route: "/webhooks/stripe" })),
      ],
      ["broker down", `${figures.brokerDownSeconds.toFixed(1)} s (Kafka starts: ${kafka.starts})`],
      ["sync-consumer SIGKILL at", figures.syncKilledAt],
      ["settle after load", `${end.settleSeconds.toFixed(1)} s`],
      ["first-pass drift (in flight)", String(end.drift.firstPassDrift)],
      ["gateway RSS samples (MB)", rss.map((s) => (s.bytes / 1024 / 1024).toFixed(0)).join(" ")],
    ];
    const width = Math.max(...[...checks, ...info].map(([name]) => name.length));
    process.stdout.write("\n| check | figure | ok |\n|---|---|---|\n");
    for (const [name, figure, ok] of checks)
      process.stdout.write(`| ${name.padEnd(width)} | ${figure} | ${ok ? "yes" : "NO"} |\n`);
    for (const [name, figure] of info) process.stdout.write(`| ${name.padEnd(width)} | ${figure} | |\n`);
    for (const problem of [...figures.badProblems, ...end.exactlyOnce.problems].slice(0, 20))
      log(`problem: ${problem}`);
    return checks.every(([, , ok]) => ok) ? 0 : 1;
  } finally {
    await scenario.stop();
    await postgres.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
