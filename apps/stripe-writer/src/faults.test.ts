import { createMetrics } from "@bridge/observability";
import { freshDatabase, kafkaBrokers } from "@bridge/testkit";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  hex,
  newOrder,
  offers,
  poll,
  seedPaidSubscription,
  startHarness,
} from "../test/harness.ts";

/**
 * 200 mixed orders while the emulator fails 20% of all calls (10% 500, 10% 429) and delays
 * every call 0–40 ms, with the SDK's own retries off. Every order must reach its right final state, none applied twice.
 * FAULT_TEST_ORDERS overrides the count (default 200).
 */
const TOTAL = Number(process.env.FAULT_TEST_ORDERS ?? 200);
const PER_KIND = Math.max(1, Math.round(TOTAL / 10)); // 5 kinds × PER_KIND existing + 5 × PER_KIND new

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ brokers: kafkaBrokers(), databaseUrl: await freshDatabase("writer_faults") });
});
afterAll(async () => {
  await h?.stop();
});

type Planned = {
  orderId: string;
  kind: string;
  expect: "applied" | "requires_action" | "failed";
  sub?: Awaited<ReturnType<typeof seedPaidSubscription>>;
  email?: string;
  pm?: string;
};

async function sum(
  registry: import("prom-client").Registry,
  name: string,
  filter: (labels: Record<string, string | number>) => boolean = () => true,
) {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? [])
    .filter((v) => filter(v.labels as Record<string, string | number>))
    .reduce((a, v) => a + v.value, 0);
}

describe("20% of Stripe calls failing", () => {
  it(`${TOTAL} mixed orders all reach their final state, none applied twice`, async () => {
    // Existing subscriptions for the non-new orders, made before the faults start.
    const seeded: Record<string, Awaited<ReturnType<typeof seedPaidSubscription>>[]> = {};
    for (const kind of ["cancel", "address", "upgrade", "downgrade", "payment"]) {
      seeded[kind] = [];
      for (let i = 0; i < PER_KIND; i++)
        seeded[kind].push(await seedPaidSubscription(h, offers.digitalMonthly));
    }
    const cards = await Promise.all(Array.from({ length: PER_KIND * 4 }, () => h.card()));
    // Stripe refuses to attach a declining card; this one attaches and its charges fail.
    const declined = Array.from({ length: PER_KIND }, () => "pm_card_chargeCustomerFail");
    const newCards = await Promise.all(Array.from({ length: PER_KIND }, () => h.card("tok_mastercard")));

    const metrics = createMetrics("stripe-writer", { defaultMetrics: false });
    // No SDK-level retries: every injected fault reaches the writer's own retry path (the step
    // runner resumes the order; the runtime backs off, honouring Retry-After).
    await h.startWriter({ metrics, env: { STRIPE_MAX_NETWORK_RETRIES: "0" } });
    await fetch(`${h.emu.url}/_emulator/requests`, { method: "DELETE" });
    const faults = { seed: 7, rules: { "*": { error500: 0.1, rateLimit429: 0.1, delayMs: [0, 40] } } };
    const put = await fetch(`${h.emu.url}/_emulator/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(faults),
    });
    expect(put.ok).toBe(true);

    const planned: Planned[] = [];
    const started = Date.now();
    for (let i = 0; i < PER_KIND; i++) {
      const publish = async (order: Record<string, unknown>, p: Omit<Planned, "orderId">) => {
        const { orderId } = await h.publishOrder(order);
        planned.push({ orderId, ...p });
      };
      const emails = Array.from({ length: 5 }, (_, k) => `fault${k}+${hex(8)}@example.com`);
      await publish(
        newOrder({ email: emails[0]!, payment: { type: "stripe", paymentMethodId: cards[i * 4]! } }),
        { kind: "new-paid", expect: "applied", email: emails[0]!, pm: cards[i * 4]! },
      );
      await publish(newOrder({ email: emails[1]!, offerId: offers.digitalAnnual }), {
        kind: "new-secret",
        // Unpaid until the shop confirms it (decision 018).
        expect: "requires_action",
        email: emails[1]!,
      });
      await publish(
        newOrder({ email: emails[2]!, payment: { type: "stripe", paymentMethodId: declined[i]! } }),
        { kind: "new-declined", expect: "failed", email: emails[2]! },
      );
      await publish(
        newOrder({
          email: emails[3]!,
          offerId: offers.printDigitalMonthly,
          payment: { type: "stripe", paymentMethodId: cards[i * 4 + 1]! },
        }),
        { kind: "new-print", expect: "applied", email: emails[3]! },
      );
      await publish(
        newOrder({
          email: emails[4]!,
          offerId: offers.digitalQuarterly,
          payment: { type: "stripe", paymentMethodId: newCards[i]! },
        }),
        { kind: "new-quarterly", expect: "applied", email: emails[4]! },
      );
      const c = seeded.cancel![i]!;
      await publish(
        { source: "shop", order_type: "cancel_subscription", subscriptionId: c.subscriptionId },
        { kind: "cancel", expect: "applied", sub: c },
      );
      const a = seeded.address![i]!;
      await publish(
        {
          source: "shop",
          order_type: "change_address",
          subscriptionId: a.subscriptionId,
          type: "billing",
          address: { address1: `${i} Fault Lane`, city: "Bath", country: "GB" },
        },
        { kind: "address", expect: "applied", sub: a },
      );
      const u = seeded.upgrade![i]!;
      await publish(
        {
          source: "shop",
          order_type: "change_offer",
          subscriptionId: u.subscriptionId,
          offer: { id: offers.printDigitalMonthlyRecurring },
        },
        { kind: "upgrade", expect: "applied", sub: u },
      );
      const d = seeded.downgrade![i]!;
      await publish(
        {
          source: "shop",
          order_type: "change_offer",
          subscriptionId: d.subscriptionId,
          offer: { id: offers.digitalAnnual },
        },
        { kind: "downgrade", expect: "applied", sub: d },
      );
      const p = seeded.payment![i]!;
      await publish(
        {
          source: "shop",
          order_type: "change_payment",
          subscriptionId: p.subscriptionId,
          payment: { type: "stripe", paymentMethodId: cards[i * 4 + 2]! },
        },
        { kind: "payment", expect: "applied", sub: p, pm: cards[i * 4 + 2]! },
      );
    }

    const outcomeOf = (orderId: string) => h.seen.outcomes.find((e) => e.id === `${orderId}:outcome`)?.data;
    await poll(() => planned.every((p) => outcomeOf(p.orderId)) || undefined, {
      timeoutMs: 240_000,
      intervalMs: 500,
      what: "every outcome",
    });
    const seconds = (Date.now() - started) / 1000;
    const log = (await (await fetch(`${h.emu.url}/_emulator/requests`)).json()) as {
      data: { status: number; method: string }[];
    };
    await fetch(`${h.emu.url}/_emulator/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rules: {} }),
    });

    const injected500 = log.data.filter((r) => r.status === 500).length;
    const injected429 = log.data.filter((r) => r.status === 429).length;
    const inPlace = await sum(
      metrics.registry,
      "messaging_messages_retried_total",
      (l) => l.where === "in_place",
    );
    const viaTopic = await sum(
      metrics.registry,
      "messaging_messages_retried_total",
      (l) => l.where === "retry_topic",
    );
    const dlq = await sum(metrics.registry, "messaging_messages_dead_lettered_total");
    console.log(
      `[faults] ${planned.length} orders in ${seconds.toFixed(1)} s; Stripe requests ${log.data.length} ` +
        `(injected 500: ${injected500}, 429: ${injected429}); ` +
        `handler retries in place: ${inPlace}, via retry topic: ${viaTopic}, dead-lettered: ${dlq}`,
    );
    expect(injected500 + injected429).toBeGreaterThan(0.1 * log.data.length);
    expect(dlq).toBe(0);

    const wrong: string[] = [];
    const allSubs = await h.stripe.subscriptions.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
    const allSchedules = await h.stripe.subscriptionSchedules
      .list({ limit: 100 })
      .autoPagingToArray({ limit: 10_000 });
    for (const p of planned) {
      const outcome = outcomeOf(p.orderId)!;
      if (outcome.status !== p.expect)
        wrong.push(`${p.kind} ${p.orderId}: ${outcome.status} ${JSON.stringify(outcome.error)}`);
      if (p.email) {
        const customers = await h.stripe.customers.list({ email: p.email });
        const subs = allSubs.filter((s) => s.metadata.limio_order_id === p.orderId);
        if (customers.data.length !== 1 || subs.length !== 1)
          wrong.push(`${p.kind}: ${customers.data.length} customers, ${subs.length} subscriptions`);
        const status = subs[0]?.status;
        const want = p.kind === "new-secret" || p.kind === "new-declined" ? "incomplete" : "active";
        if (status !== want) wrong.push(`${p.kind} ${p.orderId}: subscription ${status}, want ${want}`);
        continue;
      }
      const sub = await h.stripe.subscriptions.retrieve(p.sub!.stripe.subscriptionId!);
      if (p.kind === "cancel" && !sub.cancel_at_period_end) wrong.push(`cancel ${p.orderId}: not cancelling`);
      if (p.kind === "upgrade") {
        const invoices = await h.stripe.invoices.list({ subscription: sub.id });
        if (sub.items.data[0]?.price.unit_amount !== 2499 || invoices.data.length !== 2)
          wrong.push(`upgrade ${p.orderId}: ${invoices.data.length} invoices`);
      }
      if (p.kind === "downgrade") {
        const schedules = allSchedules.filter((s) => s.subscription === sub.id);
        if (schedules.length !== 1 || schedules[0]!.phases.length !== 2)
          wrong.push(`downgrade ${p.orderId}: ${schedules.length} schedules`);
      }
      if (p.kind === "address") {
        const customer = (await h.stripe.customers.retrieve(p.sub!.stripe.customerId!)) as Stripe.Customer;
        if (!customer.address?.line1?.endsWith("Fault Lane")) wrong.push(`address ${p.orderId}`);
      }
      if (p.kind === "payment" && sub.default_payment_method !== p.pm) wrong.push(`payment ${p.orderId}`);
    }
    expect(wrong).toEqual([]);
  }, 420_000);
});
