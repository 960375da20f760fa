import { readFile } from "node:fs/promises";
import { messageTypes, stripeEventReceivedData } from "@bridge/domain";
import { completedSteps, loadCatalog, recordStep } from "@bridge/store";
import { advanceClock, freshDatabase, kafkaBrokers } from "@bridge/testkit";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  hex,
  newOrder,
  newOrderId,
  newSubscriptionId,
  offers,
  poll,
  startHarness,
} from "../test/harness.ts";

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
  await loadCatalog(h.store.db, await fixture("shop-catalog.json"));
  await h.startWriter();
});
afterAll(async () => {
  await h?.stop();
});

const fixture = async (name: string) =>
  JSON.parse(await readFile(new URL(`../../../test/fixtures/limio/${name}`, import.meta.url), "utf8"));
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
  // Asynchronous, as Stripe's: the clock is `ready` once everything due has run.
  expect((await advanceClock(h.stripe, clockId, to)).status).toBe("ready");
}

async function place(
  email: string,
  over: Record<string, unknown>,
  offerId: string = offers.digitalMonthly,
  ids: { orderId?: string } = {},
) {
  const { orderId } = await h.publishOrder(
    newOrder({ email, offerId, payment: { type: "stripe", paymentMethodId: await h.card() }, extra: over }),
    ids,
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
    expect(sub.metadata).not.toHaveProperty("limio_term_end");
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

/** Limio's orderDiscount, in the Orders API's shape. */
const discount = (overrides: Record<string, unknown>) => ({
  name: "Test discount",
  discountOverrides: overrides,
});

describe("new order: discounts as coupons", () => {
  it("50% for 3 months: the first 3 invoices discounted, the 4th full; the coupon reused by a second order", async () => {
    const email = `percent.${hex(8)}@example.com`;
    const clock = await customerOnClock(email);
    const halfFor3 = discount({
      discountType: "percentage",
      percentageDiscount: 50,
      durationType: "billing_periods",
      durationLength: 3,
    });
    // £9.99 − 50% = £4.995: Stripe rounds the discount to £5.00 off (half away from zero), £4.99 due.
    const outcome = await place(email, {
      orderDiscount: halfFor3,
      total: { amount: "4.99", currency: "GBP" },
    });
    expect(outcome).toMatchObject({ status: "applied" });
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    expect(sub.discounts).toHaveLength(1);
    const periodEnds = (n: number) => {
      const d = new Date(sub.items.data[0]!.current_period_start * 1000);
      d.setUTCMonth(d.getUTCMonth() + n);
      return Math.floor(d.getTime() / 1000);
    };
    for (let month = 1; month <= 3; month++) await advance(clock.id, periodEnds(month) + DAY);
    const invoices = await invoicesOf(sub.id);
    expect(invoices.map((i) => i.amount_due)).toEqual([499, 499, 499, 999]);
    expect(invoices.every((i) => i.status === "paid")).toBe(true);

    // The same definition, another order: the same coupon (deterministic id), not a second one.
    const again = await place(`percent2.${hex(8)}@example.com`, { orderDiscount: halfFor3 });
    expect(again).toMatchObject({ status: "applied" });
    const [applied] = (
      await h.stripe.subscriptions.retrieve(again.stripe.subscriptionId!, { expand: ["discounts"] })
    ).discounts as Stripe.Discount[];
    const couponId = applied!.source.coupon as string;
    expect(couponId).toMatch(/^limio-/);
    expect((await h.stripe.coupons.retrieve(couponId)).times_redeemed).toBe(2);
  });

  it("£2.00 off forever: every invoice £2.00 less", async () => {
    const email = `amount.${hex(8)}@example.com`;
    const clock = await customerOnClock(email);
    const outcome = await place(email, {
      orderDiscount: discount({
        discountType: "amount",
        amountDiscount: "2.00",
        currency: "GBP",
        durationType: "forever",
      }),
      total: { amount: "7.99", currency: "GBP" },
    });
    expect(outcome).toMatchObject({ status: "applied" });
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    await advance(clock.id, sub.items.data[0]!.current_period_end + DAY);
    const invoices = await invoicesOf(sub.id);
    expect(invoices.map((i) => [i.amount_due, i.status])).toEqual([
      [799, "paid"],
      [799, "paid"],
    ]);
  });
});

describe("new order: a fixed term", () => {
  it("a 3-month term that does not renew: billed 3 times, then the subscription ends at the term end", async () => {
    const email = `fixed.${hex(8)}@example.com`;
    const clock = await customerOnClock(email);
    const outcome = await place(email, {}, plan.fixedTerm);
    expect(outcome).toMatchObject({ status: "applied" });
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    const termEnd = new Date(sub.start_date * 1000);
    termEnd.setUTCMonth(termEnd.getUTCMonth() + 3);
    const termEndUnix = Math.floor(termEnd.getTime() / 1000);
    expect(sub.cancel_at).toBe(termEndUnix);
    expect(sub.metadata).toMatchObject({
      limio_term_length: "3",
      limio_auto_renew: "false",
      limio_term_end: String(sub.cancel_at), // what the sync shows as the term end (decision 025)
    });

    // Stripe advances a test clock at most two intervals at a time: month by month.
    for (let month = 1; month <= 3; month++) {
      const at = new Date(sub.start_date * 1000);
      at.setUTCMonth(at.getUTCMonth() + month);
      await advance(clock.id, Math.floor(at.getTime() / 1000) + DAY);
    }
    const ended = await h.stripe.subscriptions.retrieve(sub.id);
    expect(ended.status).toBe("canceled");
    expect(ended.ended_at).toBe(termEndUnix);
    const invoices = await invoicesOf(sub.id);
    expect(invoices.map((i) => i.amount_due)).toEqual([999, 999, 999]);
  });

  it("autoRenew: false on the order makes a renewing offer end at its term end", async () => {
    const email = `norenew.${hex(8)}@example.com`;
    const outcome = await place(email, { autoRenew: false }, plan.twelveMonthTerm);
    expect(outcome).toMatchObject({ status: "applied" });
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    // Exact, against Stripe's billing anchor: twelve months from when Stripe started billing. The
    // writer's plan is dated before its writes (the writer's clock, for a customer on no test
    // clock) and Stripe stamps the anchor at the create, after the customer, product and price
    // steps, so the writer moves a planned end that Stripe's anchor does not match ("term-end").
    const termEnd = new Date(sub.billing_cycle_anchor * 1000);
    termEnd.setUTCMonth(termEnd.getUTCMonth() + 12);
    expect(sub.cancel_at).toBe(Math.floor(termEnd.getTime() / 1000));
    expect(sub.metadata.limio_term_end).toBe(String(sub.cancel_at));
    const planned = (await completedSteps(h.store.db, outcome.orderId)).get("plan") as {
      billingStart: number;
    };
    expect(sub.billing_cycle_anchor).toBeGreaterThanOrEqual(planned.billingStart);
  });

  it("a create that runs a day after its plan: the term still runs three full periods from Stripe's anchor", async () => {
    // A plan recorded a day before its create, as after a day of Stripe outage or a late re-drive:
    // another order's plan for the same offer, recorded on the same clock a day earlier.
    const first = `planned.${hex(8)}@example.com`;
    const clock = await customerOnClock(first);
    const earlier = await place(first, {}, plan.fixedTerm);
    expect(earlier).toMatchObject({ status: "applied" });
    const recorded = (await completedSteps(h.store.db, earlier.orderId)).get("plan") as {
      billingStart: number;
      cancelAt: number;
    };
    const email = `late.${hex(8)}@example.com`;
    await h.stripe.customers.create({ email, test_clock: clock.id });
    await advance(clock.id, START + DAY);
    const orderId = newOrderId();
    await recordStep(h.store.db, orderId, "plan", recorded);
    const outcome = await place(email, {}, plan.fixedTerm, { orderId });
    expect(outcome).toMatchObject({ status: "applied" });

    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    expect(sub.billing_cycle_anchor).toBe(START + DAY);
    const termEnd = new Date((START + DAY) * 1000);
    termEnd.setUTCMonth(termEnd.getUTCMonth() + 3);
    const termEndUnix = Math.floor(termEnd.getTime() / 1000);
    // The plan's end was a day earlier: kept, it would have cut the third period short.
    expect(recorded.cancelAt).toBeLessThan(termEndUnix);
    expect(sub.cancel_at).toBe(termEndUnix);
    expect(sub.metadata.limio_term_end).toBe(String(termEndUnix));

    for (let month = 1; month <= 3; month++) {
      const at = new Date((START + DAY) * 1000);
      at.setUTCMonth(at.getUTCMonth() + month);
      await advance(clock.id, Math.floor(at.getTime() / 1000) + DAY);
    }
    const ended = await h.stripe.subscriptions.retrieve(sub.id);
    expect(ended.status).toBe("canceled");
    expect(ended.ended_at).toBe(termEndUnix);
    expect((await invoicesOf(sub.id)).map((i) => i.amount_due)).toEqual([999, 999, 999]);
  });
  it("an order that waits for its customer: the term end moves to Stripe's anchor once the first invoice is paid", async () => {
    // Stripe lets an incomplete subscription change only its metadata (OpenAPI subscription.status):
    // the move waits for the payment the shop confirms (decision 018).
    const first = `waits.planned.${hex(8)}@example.com`;
    const clock = await customerOnClock(first);
    const earlier = await place(first, {}, plan.fixedTerm);
    const recorded = (await completedSteps(h.store.db, earlier.orderId)).get("plan") as { cancelAt: number };
    const email = `waits.${hex(8)}@example.com`;
    await h.stripe.customers.create({ email, test_clock: clock.id });
    const anchor = START + 2 * DAY;
    await advance(clock.id, anchor);
    const orderId = newOrderId();
    await recordStep(h.store.db, orderId, "plan", recorded);
    await h.publishOrder(newOrder({ email, offerId: plan.fixedTerm }), { orderId });
    const waiting = await h.waitForOutcome(orderId);
    expect(waiting).toMatchObject({ status: "requires_action", action: "payment_pending" });
    const sub = await h.stripe.subscriptions.retrieve(waiting.stripe.subscriptionId!);
    expect(sub).toMatchObject({ status: "incomplete", billing_cycle_anchor: anchor });
    expect(sub.cancel_at).toBe(recorded.cancelAt); // as created: not movable yet

    // The shop confirms the first invoice; Stripe's invoice.paid reaches the writer.
    const secret = waiting.clientSecret!.value;
    await h.stripe.paymentIntents.confirm(secret.split("_secret_")[0]!, { payment_method: "pm_card_visa" });
    const event = await poll(async () =>
      (await h.stripe.events.list({ type: "invoice.paid", limit: 20 })).data.find(
        (e) => (e.data.object as Stripe.Invoice).id === waiting.stripe.invoiceId,
      ),
    );
    await h.publishEnvelope(
      orderId,
      {
        id: `stripe:${event.id}`,
        type: messageTypes.stripeEventReceived,
        version: 1,
        occurredAt: new Date().toISOString(),
        source: "ingest-gateway",
        correlationId: event.id,
        data: stripeEventReceivedData(event as never),
      },
      h.topics.stripeEvents,
    );
    const paid = await h.waitForOutcome(orderId, { id: `${orderId}:payment:outcome` });
    expect(paid).toMatchObject({ status: "applied", action: "subscription_created" });
    const termEnd = new Date(anchor * 1000);
    termEnd.setUTCMonth(termEnd.getUTCMonth() + 3);
    const after = await h.stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe("active");
    expect(after.cancel_at).toBe(Math.floor(termEnd.getTime() / 1000));
    expect(after.metadata.limio_term_end).toBe(String(after.cancel_at));
  });
});

describe("the real Limio shop order (test/fixtures/limio/shop-order-real.json)", () => {
  it("bills exactly its total: $1,000 seat + $250 add-on, 10% off once = $1,125.00", async () => {
    const order = (await fixture("shop-order-real.json")) as Record<string, unknown>;
    const email = `shop.${hex(8)}@example.com`;
    const { orderId } = await h.publishOrder(
      {
        ...order,
        // Limio's ids are unique per order (the gateway dedupes on source + external_id).
        external_id: `shop-${hex(8)}`,
        order_reference: hex(12).toUpperCase(),
        sub_reference: hex(12).toUpperCase(),
        customerDetails: { ...(order.customerDetails as object), email },
        payment: { type: "stripe", paymentMethodId: await h.card() },
      },
      { subscriptionId: newSubscriptionId() },
    );
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({ status: "applied", action: "subscription_created" });
    const invoice = await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!);
    expect(invoice).toMatchObject({ status: "paid", amount_paid: 112_500, currency: "usd" });
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    expect(sub.items.data.map((i) => [i.price.unit_amount, i.quantity])).toEqual([
      [100_000, 1],
      [25_000, 1],
    ]);
    expect(sub.metadata).toMatchObject({ limio_term_length: "1", limio_term_type: "years" });
  });

  it("with any other total it is refused naming total, and nothing is written to Stripe", async () => {
    const order = (await fixture("shop-order-real.json")) as Record<string, unknown>;
    const email = `shopwrong.${hex(8)}@example.com`;
    const { orderId } = await h.publishOrder({
      ...order,
      external_id: `shop-${hex(8)}`,
      order_reference: hex(12).toUpperCase(),
      // Each order its own: the fixture's is held once the test above applied it.
      sub_reference: hex(12).toUpperCase(),
      customerDetails: { ...(order.customerDetails as object), email },
      payment: { type: "stripe", paymentMethodId: await h.card() },
      total: { amount: "1250.00", currency: "USD" },
    });
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({ status: "failed", error: { code: "unsupported_field" } });
    expect(outcome.error?.message).toMatch(/^total: /);
    expect((await h.stripe.customers.list({ email })).data).toEqual([]);
  });
});
