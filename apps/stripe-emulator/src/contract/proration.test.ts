import type Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { advanceClock, type Harness, startHarness } from "../../test/contract-harness.ts";
import { billingSetup } from "./fixtures.ts";

let h: Harness;
let stripe: Stripe;
beforeAll(async () => {
  h = await startHarness();
  stripe = h.stripe;
});
afterAll(async () => {
  await h.stop();
});
beforeEach(async () => {
  await h.http("POST", "/_emulator/reset");
});

const PERIOD_START = Date.UTC(2026, 0, 15, 12, 0, 0) / 1000; // 15 Jan 2026 12:00 UTC
const PERIOD_END = Date.UTC(2026, 1, 15, 12, 0, 0) / 1000; //   15 Feb 2026 12:00 UTC
const UPGRADE_AT = Date.UTC(2026, 0, 25, 18, 30, 0) / 1000; //  25 Jan 2026 18:30 UTC (the clock's frozen time)

async function upgradeSetup() {
  const setup = await billingSetup(stripe, {
    card: "pm_card_visa",
    unitAmount: 1000,
    frozenTime: PERIOD_START,
  });
  const premium = await stripe.prices.create({
    product: setup.product.id,
    currency: "usd",
    unit_amount: 2500,
    recurring: { interval: "month" },
  });
  const sub = await stripe.subscriptions.create({
    customer: setup.customer.id,
    items: [{ price: setup.price.id, quantity: 1 }],
  });
  await advanceClock(stripe, setup.clock!.id, UPGRADE_AT);
  return { ...setup, premium, sub, item: sub.items.data[0]! };
}

describe("prorations (Stripe's per-second formula)", () => {
  it("always_invoice mid-period: credit and charge lines to the cent, invoiced and paid at once", async () => {
    const { sub, item, premium, price } = await upgradeSetup();
    // period    = 15 Feb 12:00 − 15 Jan 12:00 = 31 days             = 2_678_400 s
    // remaining = 15 Feb 12:00 − 25 Jan 18:30 = 20 days 17 h 30 min = 1_791_000 s
    const period = PERIOD_END - PERIOD_START;
    const remaining = PERIOD_END - UPGRADE_AT;
    expect(period).toBe(2_678_400);
    expect(remaining).toBe(1_791_000);
    // credit = −(1000 × 1) × 1_791_000 / 2_678_400 = −668.683… → −669 (nearest cent, not truncated)
    // charge =  (2500 × 1) × 1_791_000 / 2_678_400 = 1671.707… → 1672
    const expectedCredit = -669;
    const expectedCharge = 1672;
    expect((1000 * remaining) / period).toBeCloseTo(668.683, 3);
    expect((2500 * remaining) / period).toBeCloseTo(1671.707, 3);

    // The preview before the change shows the same lines.
    const preview = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: {
        items: [{ id: item.id, price: premium.id }],
        proration_behavior: "always_invoice",
      },
    });
    expect(preview.lines.data.map((l) => l.amount)).toEqual([expectedCredit, expectedCharge]);

    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, price: premium.id }],
      proration_behavior: "always_invoice",
      billing_cycle_anchor: { type: "unchanged" },
      expand: ["latest_invoice"],
    } as Stripe.SubscriptionUpdateParams);
    expect(updated.items.data[0]!.price.id).toBe(premium.id);
    expect(updated.items.data[0]!.current_period_end).toBe(PERIOD_END);
    const invoice = updated.latest_invoice as Stripe.Invoice;
    expect(invoice.billing_reason).toBe("subscription_update");
    expect(invoice.status).toBe("paid");
    expect(invoice.total).toBe(expectedCredit + expectedCharge);
    expect(invoice.amount_paid).toBe(1003);
    const [credit, charge] = invoice.lines.data;
    expect(credit).toMatchObject({
      amount: expectedCredit,
      quantity: 1,
      period: { start: UPGRADE_AT, end: PERIOD_END },
      pricing: { price_details: { price: price.id } },
      parent: {
        type: "subscription_item_details",
        subscription_item_details: { proration: true, subscription: sub.id, subscription_item: item.id },
      },
    });
    expect(credit!.description).toBe("Unused time on 1 × Digital Monthly after 25 Jan 2026");
    expect(charge).toMatchObject({
      amount: expectedCharge,
      period: { start: UPGRADE_AT, end: PERIOD_END },
      pricing: { price_details: { price: premium.id } },
      parent: { subscription_item_details: { proration: true } },
    });
    expect(charge!.description).toBe("Remaining time on 1 × Digital Monthly after 25 Jan 2026");
  });

  it("create_prorations leaves pending items for the next renewal; none creates nothing", async () => {
    const { sub, item, premium, clock } = await upgradeSetup();
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, price: premium.id }],
      proration_behavior: "create_prorations",
    });
    expect(updated.latest_invoice).toBe(sub.latest_invoice);
    const preview = await stripe.invoices.createPreview({ subscription: sub.id });
    expect(preview.lines.data.map((l) => l.amount)).toEqual([-669, 1672, 2500]);
    await advanceClock(stripe, clock!.id, PERIOD_END + 60);
    const renewed = await stripe.subscriptions.retrieve(sub.id, { expand: ["latest_invoice"] });
    const invoice = renewed.latest_invoice as Stripe.Invoice;
    expect(invoice.billing_reason).toBe("subscription_cycle");
    expect(invoice.lines.data.map((l) => [l.amount, l.parent?.subscription_item_details?.proration])).toEqual(
      [
        [-669, true],
        [1672, true],
        [2500, false],
      ],
    );
    expect(invoice.amount_paid).toBe(3503);

    const noneSub = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, price: sub.items.data[0]!.price.id }],
      proration_behavior: "none",
    });
    expect(noneSub.latest_invoice).toBe(invoice.id);
    const next = await stripe.invoices.createPreview({ subscription: sub.id });
    expect(next.lines.data.map((l) => l.amount)).toEqual([1000]);
  });

  it("billing_cycle_anchor now: unused time credited, a full new period charged, period restarts", async () => {
    const { sub, item, premium } = await upgradeSetup();
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, price: premium.id }],
      billing_cycle_anchor: { type: "now" },
      proration_behavior: "create_prorations",
      expand: ["latest_invoice"],
    } as Stripe.SubscriptionUpdateParams);
    expect(updated.billing_cycle_anchor).toBe(UPGRADE_AT);
    expect(updated.items.data[0]!.current_period_start).toBe(UPGRADE_AT);
    expect(updated.items.data[0]!.current_period_end).toBe(Date.UTC(2026, 1, 25, 18, 30, 0) / 1000);
    const invoice = updated.latest_invoice as Stripe.Invoice;
    expect(invoice.lines.data.map((l) => l.amount)).toEqual([-669, 2500]);
    expect(invoice.total).toBe(1831);
  });

  it("pending_if_incomplete with a failing card keeps the old price as pending_update until the invoice is paid", async () => {
    const { sub, item, premium, price, customer } = await upgradeSetup();
    const failing = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", {
      customer: customer.id,
    });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: failing.id } });
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, price: premium.id }],
      proration_behavior: "always_invoice",
      payment_behavior: "pending_if_incomplete",
    });
    expect(updated.status).toBe("active");
    expect(updated.items.data[0]!.price.id).toBe(price.id);
    expect(updated.pending_update?.subscription_items?.[0]?.price.id).toBe(premium.id);
    expect(updated.pending_update?.expires_at).toBe(UPGRADE_AT + 23 * 3600);
    const invoice = await stripe.invoices.retrieve(updated.latest_invoice as string);
    expect(invoice).toMatchObject({ status: "open", attempt_count: 1, amount_due: 1003 });

    const visa = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    await stripe.invoices.pay(invoice.id, { payment_method: visa.id });
    const applied = await stripe.subscriptions.retrieve(sub.id);
    expect(applied.items.data[0]!.price.id).toBe(premium.id);
    expect(applied.pending_update).toBeNull();
  });

  it("a pending update made less than 23 hours before the period ends expires at the period end", async () => {
    // docs.stripe.com/billing/subscriptions/pending-updates-reference#expiration: the trial end
    // or the current period end, whichever comes first, at most 23 hours later.
    const { sub, item, premium, customer, clock } = await upgradeSetup();
    const lateAt = PERIOD_END - 2 * 3600;
    await advanceClock(stripe, clock!.id, lateAt);
    const failing = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", {
      customer: customer.id,
    });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: failing.id } });
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, price: premium.id }],
      proration_behavior: "always_invoice",
      payment_behavior: "pending_if_incomplete",
    });
    expect(updated.items.data[0]!.current_period_end).toBe(PERIOD_END);
    expect(updated.pending_update?.expires_at).toBe(PERIOD_END);
  });

  it("pending_if_incomplete accepts only the pending updates reference's attributes (no metadata, no item deletion)", async () => {
    // docs.stripe.com/billing/subscriptions/pending-updates-reference, "Supported attributes".
    const { sub, item, premium, price } = await upgradeSetup();
    const base = {
      proration_behavior: "always_invoice" as const,
      payment_behavior: "pending_if_incomplete" as const,
    };
    await expect(
      stripe.subscriptions.update(sub.id, {
        ...base,
        items: [{ id: item.id, price: premium.id }],
        metadata: { plan: "premium" },
      }),
    ).rejects.toMatchObject({ type: "StripeInvalidRequestError", param: "metadata" });
    await expect(
      stripe.subscriptions.update(sub.id, {
        ...base,
        items: [{ id: item.id, deleted: true }, { price: premium.id }],
      }),
    ).rejects.toMatchObject({ type: "StripeInvalidRequestError", param: "items[0][deleted]" });
    const unchanged = await stripe.subscriptions.retrieve(sub.id);
    expect(unchanged.items.data.map((i) => i.price.id)).toEqual([price.id]);
    expect(unchanged.latest_invoice).toBe(sub.latest_invoice);
    // Within the supported attributes the same update goes through (and is paid by the visa).
    const updated = await stripe.subscriptions.update(sub.id, {
      ...base,
      items: [{ id: item.id, price: premium.id, quantity: 1 }],
      billing_cycle_anchor: { type: "now" },
    });
    expect(updated.items.data[0]!.price.id).toBe(premium.id);
    expect(updated.pending_update).toBeNull();
  });

  it("allow_incomplete with a failing card applies the change, leaves the invoice open and the subscription past_due", async () => {
    const { sub, item, premium, customer } = await upgradeSetup();
    const failing = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", {
      customer: customer.id,
    });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: failing.id } });
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, price: premium.id }],
      proration_behavior: "always_invoice",
      expand: ["latest_invoice"],
    });
    expect(updated.status).toBe("past_due");
    expect(updated.items.data[0]!.price.id).toBe(premium.id);
    const invoice = updated.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({
      status: "open",
      attempt_count: 1,
      next_payment_attempt: UPGRADE_AT + 3 * 86400,
    });
  });

  it("a downgrade with always_invoice credits the customer balance, used by the next invoice", async () => {
    const { sub, item, product, customer, clock } = await upgradeSetup();
    const basic = await stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: 400,
      recurring: { interval: "month" },
    });
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, price: basic.id }],
      proration_behavior: "always_invoice",
      expand: ["latest_invoice"],
    });
    // credit −669 (as above) + charge round(400 × 1_791_000 / 2_678_400 = 267.473…) = 267 → total −402
    const invoice = updated.latest_invoice as Stripe.Invoice;
    expect(invoice.lines.data.map((l) => l.amount)).toEqual([-669, 267]);
    expect(invoice).toMatchObject({ total: -402, amount_due: 0, status: "paid", ending_balance: -402 });
    expect(((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).balance).toBe(-402);
    await advanceClock(stripe, clock!.id, PERIOD_END + 60);
    const renewal = await stripe.invoices.retrieve(
      (await stripe.subscriptions.retrieve(sub.id)).latest_invoice as string,
    );
    expect(renewal).toMatchObject({ total: 400, starting_balance: -402, amount_due: 0, ending_balance: -2 });
  });
});
