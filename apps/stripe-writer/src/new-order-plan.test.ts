import { readFile } from "node:fs/promises";
import { loadCatalog } from "@bridge/store";
import { freshDatabase, kafkaBrokers } from "@bridge/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, hex, newOrder, offers, startHarness } from "../test/harness.ts";

/**
 * Issue 12's new-order scenarios, through real Kafka against the emulator, asserting what Stripe
 * bills: the writer executes the domain's planNewOrder (docs/decisions/020).
 */
let h: Harness;
const plan = {
  archiveAddOn: "a1c0e2a9b7d4e3f8a6b1c0d2e4f6a8b0c1d3e5f7", // £2.00 / month
  fixedTerm: "b2c0e2a9b7d4e3f8a6b1c0d2e4f6a8b0c1d3e5f7", // £9.99 / month, 3 months, no renewal
  twelveMonthTerm: "c3c0e2a9b7d4e3f8a6b1c0d2e4f6a8b0c1d3e5f7", // £9.99 / month, a 12-month term
} as const;

beforeAll(async () => {
  h = await startHarness({ brokers: kafkaBrokers(), databaseUrl: await freshDatabase("writer_plan") });
  const json = await readFile(new URL("../test/plan-offers.json", import.meta.url), "utf8");
  await loadCatalog(h.store.db, JSON.parse(json));
  await h.startWriter();
});
afterAll(async () => {
  await h?.stop();
});

const DAY = 86_400;
/** A real-time-ish instant, whole seconds: the test clock starts there. */
const START = Math.floor(Date.now() / 1000);

/**
 * A customer of `email` on its own test clock, as the shop's customer already in Stripe: the
 * writer matches it by email, so the subscription (and the writer's plan) run on that clock.
 */
async function customerOnClock(email: string) {
  const clock = await h.stripe.testHelpers.testClocks.create({ frozen_time: START });
  await h.stripe.customers.create({ email, test_clock: clock.id });
  return clock;
}

async function advance(clockId: string, to: number) {
  await h.stripe.testHelpers.testClocks.advance(clockId, { frozen_time: to });
  expect((await h.stripe.testHelpers.testClocks.retrieve(clockId)).status).toBe("ready");
}

async function place(email: string, over: Record<string, unknown>, offerId: string = offers.digitalMonthly) {
  const { orderId } = await h.publishOrder(
    newOrder({ email, offerId, payment: { type: "stripe", paymentMethodId: await h.card() }, extra: over }),
  );
  return h.waitForOutcome(orderId);
}

const invoicesOf = async (subscriptionId: string) =>
  (await h.stripe.invoices.list({ subscription: subscriptionId, limit: 100 })).data.sort(
    (a, b) => a.created - b.created || a.id.localeCompare(b.id),
  );

describe("new order: add-ons, one-off charges, quantities", () => {
  it("an offer with one add-on and a one-off charge: one subscription, the one-off on the first invoice only", async () => {
    const email = `addon.${hex(8)}@example.com`;
    const clock = await customerOnClock(email);
    const outcome = await place(email, {
      orderItems: [
        {
          offer: { id: offers.printDigitalMonthly }, // £24.99 / month + £4.99 once
          quantity: 1,
          addOns: [{ addOn: { id: plan.archiveAddOn }, quantity: 2 }], // 2 × £2.00 / month
        },
      ],
      total: { amount: "33.98", currency: "GBP" },
    });
    expect(outcome).toMatchObject({ status: "applied", action: "subscription_created" });

    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    expect(sub.status).toBe("active");
    expect(sub.items.data.map((i) => [i.price.unit_amount, i.quantity, i.price.recurring?.interval])).toEqual(
      [
        [2499, 1, "month"],
        [200, 2, "month"],
      ],
    );
    expect(sub.metadata).toMatchObject({
      limio_offer_id: offers.printDigitalMonthly,
      limio_term_length: "1",
      limio_term_type: "months",
      limio_auto_renew: "true",
    });
    const first = await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!);
    expect(first.status).toBe("paid");
    expect(first.amount_paid).toBe(3398);
    expect(first.lines.data.map((l) => l.amount).sort((a, b) => a - b)).toEqual([400, 499, 2499]);

    // A month later: the recurring charges only, the one-off is not billed again.
    await advance(clock.id, sub.items.data[0]!.current_period_end + DAY);
    const [, second] = await invoicesOf(sub.id);
    expect(second).toMatchObject({ billing_reason: "subscription_cycle", amount_due: 2899, status: "paid" });
  });

  it("a second order item is co-termed on the same subscription, each with its quantity", async () => {
    const email = `items.${hex(8)}@example.com`;
    const outcome = await place(email, {
      orderItems: [
        { offer: { id: offers.digitalMonthly }, quantity: 3 },
        { offer: { id: plan.archiveAddOn }, quantity: 1 },
      ],
      total: { amount: "31.97", currency: "GBP" },
    });
    expect(outcome).toMatchObject({ status: "applied" });
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    expect(sub.items.data.map((i) => [i.price.unit_amount, i.quantity])).toEqual([
      [999, 3],
      [200, 1],
    ]);
    expect((await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!)).amount_paid).toBe(3197);
  });

  it("a second item billed on another interval is refused naming it, before any subscription", async () => {
    const email = `interval.${hex(8)}@example.com`;
    const outcome = await place(email, {
      orderItems: [{ offer: { id: offers.digitalMonthly } }, { offer: { id: offers.digitalAnnual } }],
    });
    expect(outcome).toMatchObject({ status: "failed", error: { code: "unsupported_field" } });
    expect(outcome.error?.message).toMatch(/^orderItems\.1: /);
    expect(outcome.stripe.subscriptionId).toBeUndefined();
    expect((await h.stripe.customers.list({ email })).data).toEqual([]);
  });
});

describe("new order: the offer's term", () => {
  it("a 12-month term billed monthly: monthly invoices, Limio's term on the subscription metadata", async () => {
    const email = `term.${hex(8)}@example.com`;
    const outcome = await place(email, {}, plan.twelveMonthTerm);
    expect(outcome).toMatchObject({ status: "applied" });
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    expect(sub.metadata).toMatchObject({
      limio_term_length: "12",
      limio_term_type: "months",
      limio_auto_renew: "true",
    });
    expect(sub.items.data[0]!.price.recurring).toMatchObject({ interval: "month", interval_count: 1 });
    expect(sub.cancel_at).toBeNull();
    expect((await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!)).amount_paid).toBe(999);
  });
});

describe("new order: a future start", () => {
  it("orderDate ahead: nothing charged until the date, then billed", async () => {
    const email = `future.${hex(8)}@example.com`;
    const clock = await customerOnClock(email);
    const startsAt = START + 10 * DAY;
    const outcome = await place(email, {
      orderDate: new Date(startsAt * 1000).toISOString(),
      total: { amount: "0.00", currency: "GBP" },
    });
    // Applied: Stripe shows the subscription trialing with its first invoice paid at £0.
    expect(outcome).toMatchObject({ status: "applied", action: "subscription_created" });
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    expect(sub.status).toBe("trialing");
    expect(sub.trial_end).toBe(startsAt);
    const first = await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!);
    expect(first).toMatchObject({ status: "paid", amount_due: 0, amount_paid: 0 });

    await advance(clock.id, startsAt - DAY);
    expect(await invoicesOf(sub.id)).toHaveLength(1);
    await advance(clock.id, startsAt + DAY);
    const after = await h.stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe("active");
    const [, billed] = await invoicesOf(sub.id);
    expect(billed).toMatchObject({ amount_due: 999, amount_paid: 999, status: "paid" });
    expect(after.items.data[0]!.current_period_start).toBe(startsAt);
  });
});
