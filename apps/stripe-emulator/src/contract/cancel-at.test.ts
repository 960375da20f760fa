import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { advanceClock, useHarness } from "../../test/contract-harness.ts";
import { billingSetup } from "./fixtures.ts";

const t = useHarness();

const utc = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d, 12, 0, 0) / 1000;
const refusal = (promise: Promise<unknown>) =>
  promise.then(() => null).catch((e) => e as Stripe.errors.StripeError);

async function invoicesOf(subId: string) {
  const list = await t.stripe.invoices.list({ subscription: subId });
  return list.data
    .map((i) => ({ reason: i.billing_reason, total: i.total, period: i.lines.data[0]!.period }))
    .reverse();
}

// docs.stripe.com/api/subscriptions/create#create_subscription-cancel_at: "A timestamp at which
// the subscription should cancel. If set to a date before the current period ends, this will
// cause a proration if prorations have been enabled using proration_behavior. If set during a
// future period, this will always cause a proration for that period."
describe("cancel_at on subscription create", () => {
  it("a fixed term on a period boundary: renews until then, then ends (status canceled, ended_at, customer.subscription.deleted)", async () => {
    const { clock, customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 1, 15),
    });
    const coupon = await t.stripe.coupons.create({ percent_off: 10, duration: "forever" });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, quantity: 2 }],
      cancel_at: utc(2026, 4, 15),
      discounts: [{ coupon: coupon.id }],
    });
    expect(sub).toMatchObject({
      status: "active",
      cancel_at: utc(2026, 4, 15),
      cancel_at_period_end: false,
      canceled_at: utc(2026, 1, 15),
    });
    for (const date of [utc(2026, 2, 15), utc(2026, 3, 15), utc(2026, 4, 15)]) {
      await advanceClock(t.stripe, clock!.id, date);
    }
    const ended = await t.stripe.subscriptions.retrieve(sub.id);
    expect(ended).toMatchObject({ status: "canceled", ended_at: utc(2026, 4, 15) });
    // Three full months billed (2 × 1000 − 10 %), nothing at the end.
    expect(await invoicesOf(sub.id)).toEqual([
      {
        reason: "subscription_create",
        total: 1800,
        period: { start: utc(2026, 1, 15), end: utc(2026, 2, 15) },
      },
      {
        reason: "subscription_cycle",
        total: 1800,
        period: { start: utc(2026, 2, 15), end: utc(2026, 3, 15) },
      },
      {
        reason: "subscription_cycle",
        total: 1800,
        period: { start: utc(2026, 3, 15), end: utc(2026, 4, 15) },
      },
    ]);
    const deleted = await t.stripe.events.list({ type: "customer.subscription.deleted" });
    expect(deleted.data.map((e) => (e.data.object as Stripe.Subscription).id)).toEqual([sub.id]);
  });

  it("inside a later period: that period is billed prorated up to cancel_at and the subscription ends then", async () => {
    const { clock, customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      unitAmount: 2800,
      frozenTime: utc(2026, 1, 15),
    });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      cancel_at: utc(2026, 3, 1),
    });
    await advanceClock(t.stripe, clock!.id, utc(2026, 2, 15));
    const current = await t.stripe.subscriptions.retrieve(sub.id);
    expect(current.items.data[0]!.current_period_end).toBe(utc(2026, 3, 1));
    // Feb 15 → Mar 15 is 28 days; 14 of them are billed: 2800 × 14 / 28.
    const renewal = await t.stripe.invoices.retrieve(current.latest_invoice as string);
    expect(renewal).toMatchObject({ total: 1400, amount_paid: 1400 });
    expect(renewal.lines.data[0]).toMatchObject({
      amount: 1400,
      period: { start: utc(2026, 2, 15), end: utc(2026, 3, 1) },
      parent: { subscription_item_details: { proration: true } },
    });
    // The preview knows there is nothing after cancel_at.
    const none = await refusal(t.stripe.invoices.createPreview({ subscription: sub.id }));
    expect(none).toMatchObject({ statusCode: 400, code: "invoice_upcoming_none" });
    await advanceClock(t.stripe, clock!.id, utc(2026, 3, 2));
    expect(await t.stripe.subscriptions.retrieve(sub.id)).toMatchObject({
      status: "canceled",
      ended_at: utc(2026, 3, 1),
    });
    expect((await invoicesOf(sub.id)).map((i) => i.total)).toEqual([2800, 1400]);
  });

  it("inside the first period: the first invoice is prorated, unless proration_behavior is none", async () => {
    const { clock, customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      unitAmount: 3100,
      frozenTime: utc(2026, 1, 15),
    });
    // Jan 15 → Feb 15 is 31 days; 10 are billed.
    const prorated = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      cancel_at: utc(2026, 1, 25),
    });
    expect(prorated.items.data[0]!.current_period_end).toBe(utc(2026, 1, 25));
    expect((await invoicesOf(prorated.id)).map((i) => i.total)).toEqual([1000]);

    const full = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      cancel_at: utc(2026, 1, 25),
      proration_behavior: "none",
    });
    expect(full.items.data[0]!.current_period_end).toBe(utc(2026, 2, 15));
    expect((await invoicesOf(full.id)).map((i) => i.total)).toEqual([3100]);

    await advanceClock(t.stripe, clock!.id, utc(2026, 1, 26));
    for (const id of [prorated.id, full.id]) {
      expect(await t.stripe.subscriptions.retrieve(id)).toMatchObject({
        status: "canceled",
        ended_at: utc(2026, 1, 25),
      });
    }
  });

  it("takes min_period_end / max_period_end as the first period's end", async () => {
    const { customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 1, 15),
    });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      cancel_at: "max_period_end",
    });
    expect(sub.cancel_at).toBe(utc(2026, 2, 15));
    expect((await invoicesOf(sub.id)).map((i) => i.total)).toEqual([1000]);
  });

  it("a trial with quantities and a one-off charge, ending at cancel_at", async () => {
    const { clock, customer, price, product } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 1, 15),
    });
    const fee = await t.stripe.prices.create({ product: product.id, currency: "usd", unit_amount: 700 });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, quantity: 2 }],
      add_invoice_items: [{ price: fee.id, quantity: 1, discountable: false }],
      trial_end: utc(2026, 2, 1),
      cancel_at: utc(2026, 3, 1),
    });
    expect(sub.status).toBe("trialing");
    await advanceClock(t.stripe, clock!.id, utc(2026, 2, 1));
    await advanceClock(t.stripe, clock!.id, utc(2026, 3, 1));
    expect(await t.stripe.subscriptions.retrieve(sub.id)).toMatchObject({
      status: "canceled",
      ended_at: utc(2026, 3, 1),
    });
    // The fee on the trial's invoice; one full month (Feb 1 → Mar 1) of 2 × 1000 after it.
    expect((await invoicesOf(sub.id)).map((i) => i.total)).toEqual([700, 2000]);
  });

  it("refuses what Stripe refuses, and a discount with an off-boundary cancel_at", async () => {
    const { customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 1, 15),
    });
    const coupon = await t.stripe.coupons.create({ percent_off: 10, duration: "forever" });
    const cases: [Partial<Stripe.SubscriptionCreateParams>, string][] = [
      [{ cancel_at: utc(2026, 1, 14) }, "cancel_at"], // in the past
      [{ cancel_at: utc(2026, 3, 15), cancel_at_period_end: true }, "cancel_at"],
      [{ cancel_at: utc(2026, 3, 1), discounts: [{ coupon: coupon.id }] }, "cancel_at"],
    ];
    for (const [extra, param] of cases) {
      const error = await refusal(
        t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], ...extra }),
      );
      expect(error, JSON.stringify(extra)).toMatchObject({ statusCode: 400, param });
    }
    expect((await t.stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(0);
  });
});

// docs.stripe.com/api/subscriptions/update#update_subscription-cancel_at: the same rule on update.
describe("cancel_at on subscription update", () => {
  it("inside the current period: refused unless proration_behavior is none (the credit is not modelled); in a later period: that period prorated", async () => {
    const { clock, customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      unitAmount: 2800,
      frozenTime: utc(2026, 1, 15),
    });
    const sub = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const inside = await refusal(t.stripe.subscriptions.update(sub.id, { cancel_at: utc(2026, 2, 1) }));
    expect(inside).toMatchObject({ statusCode: 400, param: "cancel_at" });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).cancel_at).toBeNull();

    // A later period: Feb 15 → Mar 15 (28 days) billed for the 14 days up to Mar 1.
    const later = await t.stripe.subscriptions.update(sub.id, {
      cancel_at: utc(2026, 3, 1),
      proration_behavior: "none",
    });
    expect(later.cancel_at).toBe(utc(2026, 3, 1));
    await advanceClock(t.stripe, clock!.id, utc(2026, 2, 15));
    await advanceClock(t.stripe, clock!.id, utc(2026, 3, 1));
    expect(await t.stripe.subscriptions.retrieve(sub.id)).toMatchObject({
      status: "canceled",
      ended_at: utc(2026, 3, 1),
    });
    expect((await invoicesOf(sub.id)).map((i) => i.total)).toEqual([2800, 1400]);
  });
});
