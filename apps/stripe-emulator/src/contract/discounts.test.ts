import type Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { advanceClock, useHarness } from "../../test/contract-harness.ts";
import { billingSetup } from "./fixtures.ts";

const t = useHarness();

const utc = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d, 12, 0, 0) / 1000;
const refusal = (promise: Promise<unknown>) =>
  promise.then(() => null).catch((e) => e as Stripe.errors.StripeError);

async function latestInvoice(subId: string): Promise<Stripe.Invoice> {
  const sub = await t.stripe.subscriptions.retrieve(subId);
  return t.stripe.invoices.retrieve(sub.latest_invoice as string);
}

/** total / amount_due / amount_paid of each renewal after advancing the clock to each date. */
async function renewals(clockId: string, subId: string, dates: number[]) {
  const out: { subtotal: number; total: number; paid: number; discounts: number }[] = [];
  for (const date of dates) {
    await advanceClock(t.stripe, clockId, date);
    const invoice = await latestInvoice(subId);
    expect(invoice.billing_reason).toBe("subscription_cycle");
    out.push({
      subtotal: invoice.subtotal,
      total: invoice.total,
      paid: invoice.amount_paid,
      discounts: invoice.discounts.length,
    });
  }
  return out;
}

// docs.stripe.com/billing/subscriptions/coupons: "Apply one or more discounts to every invoice, a
// specific invoice, or for a certain duration of time"; a coupon's percent_off / amount_off is
// "taken off the subtotal" (docs.stripe.com/api/coupons/object); the discount's `end` is set for
// `repeating` coupons (docs.stripe.com/api/discounts/object).
describe("discounts on subscriptions: once, repeating, forever", () => {
  it("a 25% coupon for 3 months discounts the first three monthly invoices, then full price", async () => {
    const { clock, customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      unitAmount: 999,
      frozenTime: utc(2026, 1, 15),
    });
    const coupon = await t.stripe.coupons.create({
      id: "pct25-3m",
      percent_off: 25,
      duration: "repeating",
      duration_in_months: 3,
    });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      discounts: [{ coupon: coupon.id }],
      expand: ["discounts"],
    });
    expect(sub.status).toBe("active");
    expect(sub.discounts).toHaveLength(1);
    const discount = sub.discounts[0] as Stripe.Discount;
    expect(discount).toMatchObject({
      object: "discount",
      source: { coupon: coupon.id, type: "coupon" },
      subscription: sub.id,
      customer: customer.id,
      start: utc(2026, 1, 15),
      end: utc(2026, 4, 15),
    });
    // The subscription lists the id unless expanded.
    expect((await t.stripe.subscriptions.retrieve(sub.id)).discounts).toEqual([discount.id]);
    expect((await t.stripe.coupons.retrieve(coupon.id)).times_redeemed).toBe(1);

    const first = await latestInvoice(sub.id);
    // 999 × 25% = 249.75 → 250 (nearest minor unit).
    expect(first).toMatchObject({
      subtotal: 999,
      total: 749,
      total_excluding_tax: 749,
      amount_due: 749,
      amount_paid: 749,
      discounts: [discount.id],
      total_discount_amounts: [{ amount: 250, discount: discount.id }],
    });
    expect(first.lines.data[0]).toMatchObject({
      amount: 999,
      discountable: true,
      discount_amounts: [{ amount: 250, discount: discount.id }],
    });

    expect(await renewals(clock!.id, sub.id, [utc(2026, 2, 15), utc(2026, 3, 15), utc(2026, 4, 15)])).toEqual(
      [
        { subtotal: 999, total: 749, paid: 749, discounts: 1 },
        { subtotal: 999, total: 749, paid: 749, discounts: 1 },
        // The discount ended on Apr 15: the fourth invoice is at full price.
        { subtotal: 999, total: 999, paid: 999, discounts: 0 },
      ],
    );
    expect((await t.stripe.subscriptions.retrieve(sub.id)).discounts).toEqual([]);
  });

  it("a fixed-amount coupon forever comes off every invoice, split over the recurring lines, never the one-off item marked not discountable", async () => {
    const { clock, customer, price, product } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      unitAmount: 1000,
      frozenTime: utc(2026, 1, 15),
    });
    const addOn = await t.stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: 300,
      recurring: { interval: "month" },
    });
    const setupFee = await t.stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: 2500,
    });
    const coupon = await t.stripe.coupons.create({ amount_off: 500, currency: "usd", duration: "forever" });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [
        { price: price.id, quantity: 2 },
        { price: addOn.id, quantity: 1 },
      ],
      add_invoice_items: [{ price: setupFee.id, discountable: false }],
      discounts: [{ coupon: coupon.id }],
    });
    const discountId = sub.discounts[0] as string;
    const first = await latestInvoice(sub.id);
    // 2 × 1000 + 300 + 2500 = 4800; 500 off the 2300 that may be discounted.
    expect(first).toMatchObject({
      subtotal: 4800,
      total: 4300,
      amount_paid: 4300,
      total_discount_amounts: [{ amount: 500, discount: discountId }],
    });
    // 500 split in proportion to 2000 : 300 → 434.78 / 65.22, rounded so the parts add up to 500.
    expect(first.lines.data.map((l) => [l.amount, l.discountable, l.discount_amounts])).toEqual([
      [2000, true, [{ amount: 435, discount: discountId }]],
      [300, true, [{ amount: 65, discount: discountId }]],
      [2500, false, []],
    ]);
    expect(await renewals(clock!.id, sub.id, [utc(2026, 2, 15), utc(2026, 3, 15)])).toEqual([
      { subtotal: 2300, total: 1800, paid: 1800, discounts: 1 },
      { subtotal: 2300, total: 1800, paid: 1800, discounts: 1 },
    ]);
  });

  it("a once coupon discounts the first invoice only and leaves the subscription then", async () => {
    const { clock, customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      unitAmount: 1999,
      frozenTime: utc(2026, 1, 31),
    });
    const coupon = await t.stripe.coupons.create({ percent_off: 50, duration: "once" });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      discounts: [{ coupon: coupon.id }],
    });
    // Used up by the first invoice (github.com/stripe/stripe-go/issues/944: "This consumes the
    // coupon that was applied immediately so at creation the Subscription does not have a Discount").
    expect(sub.discounts).toEqual([]);
    // 1999 × 50% = 999.5 → 1000 off.
    expect(await latestInvoice(sub.id)).toMatchObject({ subtotal: 1999, total: 999, amount_paid: 999 });
    expect(await renewals(clock!.id, sub.id, [utc(2026, 2, 28)])).toEqual([
      { subtotal: 1999, total: 1999, paid: 1999, discounts: 0 },
    ]);
  });

  it("an amount_off larger than the invoice brings it to 0, and the invoice is paid without a charge", async () => {
    const { customer, price } = await billingSetup(t.stripe, { unitAmount: 400 });
    const coupon = await t.stripe.coupons.create({ amount_off: 1000, currency: "usd", duration: "once" });
    // No payment method: nothing is due, so the subscription starts active.
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      discounts: [{ coupon: coupon.id }],
      payment_behavior: "error_if_incomplete",
    });
    expect(sub.status).toBe("active");
    expect(await latestInvoice(sub.id)).toMatchObject({
      subtotal: 400,
      total: 0,
      amount_due: 0,
      status: "paid",
      total_discount_amounts: [{ amount: 400 }],
    });
  });

  it("a trial bills the one-off items on its first invoice (discounted when discountable), the recurring items at 0, and the quantities after the trial", async () => {
    const { clock, customer, price, product } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      unitAmount: 1000,
      frozenTime: utc(2026, 1, 15),
    });
    const oneOff = await t.stripe.prices.create({ product: product.id, currency: "usd", unit_amount: 1500 });
    const coupon = await t.stripe.coupons.create({ percent_off: 20, duration: "forever" });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, quantity: 3 }],
      add_invoice_items: [{ price: oneOff.id }],
      trial_end: utc(2026, 2, 1),
      discounts: [{ coupon: coupon.id }],
    });
    expect(sub.status).toBe("trialing");
    const first = await latestInvoice(sub.id);
    expect(first.lines.data.map((l) => l.amount)).toEqual([0, 1500]);
    expect(first).toMatchObject({ subtotal: 1500, total: 1200, amount_paid: 1200, status: "paid" });
    expect(await renewals(clock!.id, sub.id, [utc(2026, 2, 1)])).toEqual([
      { subtotal: 3000, total: 2400, paid: 2400, discounts: 1 },
    ]);
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe("active");
  });

  it('keeps a redeemed discount when its coupon is deleted (docs: deleting a coupon "does not affect any customers who have already applied the coupon")', async () => {
    const { clock, customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 1, 15),
    });
    const coupon = await t.stripe.coupons.create({ percent_off: 10, duration: "forever" });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      discounts: [{ coupon: coupon.id }],
    });
    await t.stripe.coupons.del(coupon.id);
    expect(await renewals(clock!.id, sub.id, [utc(2026, 2, 15)])).toEqual([
      { subtotal: 1000, total: 900, paid: 900, discounts: 1 },
    ]);
  });
});

describe("discounts on subscription update", () => {
  it("a populated `discounts` replaces the subscription's, an empty string clears them", async () => {
    const { clock, customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 1, 15),
    });
    const sub = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    expect(sub.discounts).toEqual([]);
    const coupon = await t.stripe.coupons.create({ amount_off: 300, currency: "usd", duration: "forever" });
    const updated = await t.stripe.subscriptions.update(sub.id, { discounts: [{ coupon: coupon.id }] });
    expect(updated.discounts).toHaveLength(1);
    expect(await renewals(clock!.id, sub.id, [utc(2026, 2, 15)])).toEqual([
      { subtotal: 1000, total: 700, paid: 700, discounts: 1 },
    ]);
    const cleared = await t.stripe.subscriptions.update(sub.id, { discounts: "" });
    expect(cleared.discounts).toEqual([]);
    expect(await renewals(clock!.id, sub.id, [utc(2026, 3, 15)])).toEqual([
      { subtotal: 1000, total: 1000, paid: 1000, discounts: 0 },
    ]);
  });
});

describe("a once coupon added by an update", () => {
  it("waits for the next invoice (no charge at the update), discounts it, and is gone after", async () => {
    const { clock, customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 1, 15),
    });
    const sub = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const coupon = await t.stripe.coupons.create({ amount_off: 250, currency: "usd", duration: "once" });
    const updated = await t.stripe.subscriptions.update(sub.id, { discounts: [{ coupon: coupon.id }] });
    // "When you update the Subscription, no charge happens, so the discount is active until it's
    // consumed by an Invoice" (github.com/stripe/stripe-go/issues/944).
    expect(updated.latest_invoice).toBe(sub.latest_invoice);
    expect(updated.discounts).toHaveLength(1);
    expect(await renewals(clock!.id, sub.id, [utc(2026, 2, 15), utc(2026, 3, 15)])).toEqual([
      { subtotal: 1000, total: 750, paid: 750, discounts: 1 },
      { subtotal: 1000, total: 1000, paid: 1000, discounts: 0 },
    ]);
    expect((await t.stripe.subscriptions.retrieve(sub.id)).discounts).toEqual([]);
  });

  it("refuses discounts and items in one update (which discounts the prorations would use is not documented)", async () => {
    const { customer, price } = await billingSetup(t.stripe, { card: "pm_card_visa", withClock: false });
    const sub = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const coupon = await t.stripe.coupons.create({ percent_off: 10, duration: "forever" });
    const error = await refusal(
      t.stripe.subscriptions.update(sub.id, {
        discounts: [{ coupon: coupon.id }],
        items: [{ id: sub.items.data[0]!.id, quantity: 2 }],
        proration_behavior: "none",
      }),
    );
    expect(error).toMatchObject({ statusCode: 400, param: "discounts" });
    const after = await t.stripe.subscriptions.retrieve(sub.id);
    expect(after.discounts).toEqual([]);
    expect(after.items.data[0]!.quantity).toBe(1);
  });
});

describe("what the emulator refuses rather than bill a guess", () => {
  it("refuses an unknown coupon, a coupon in another currency, an exhausted one, and the legacy `coupon` parameter", async () => {
    const { customer, price } = await billingSetup(t.stripe, { card: "pm_card_visa", withClock: false });
    const eur = await t.stripe.coupons.create({ amount_off: 100, currency: "eur" });
    const single = await t.stripe.coupons.create({
      percent_off: 10,
      max_redemptions: 1,
      duration: "forever",
    });
    await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      discounts: [{ coupon: single.id }],
    });
    expect(await t.stripe.coupons.retrieve(single.id)).toMatchObject({ times_redeemed: 1, valid: false });
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [
        { discounts: [{ coupon: "nope" }] },
        { statusCode: 404, code: "resource_missing", param: "discounts[0][coupon]" },
      ],
      [{ discounts: [{ coupon: eur.id }] }, { statusCode: 400, param: "discounts[0][coupon]" }],
      [{ discounts: [{ coupon: single.id }] }, { statusCode: 400, code: "coupon_expired" }],
      // Removed from subscription create in the pinned API version (not in the SDK's params).
      [{ coupon: eur.id }, { statusCode: 400, code: "parameter_unknown", param: "coupon" }],
    ];
    for (const [extra, expected] of cases) {
      const error = await refusal(
        t.stripe.subscriptions.create({
          customer: customer.id,
          items: [{ price: price.id }],
          ...extra,
        } as Stripe.SubscriptionCreateParams),
      );
      expect(error, JSON.stringify(extra)).toMatchObject(expected);
    }
    // Only the first subscription exists; the refused ones redeemed nothing.
    expect((await t.stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(1);
    expect((await t.stripe.coupons.retrieve(eur.id)).times_redeemed).toBe(0);
  });

  it("refuses a once coupon with a trial, and prorating a discounted period", async () => {
    const { customer, price, product } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      withClock: false,
    });
    const once = await t.stripe.coupons.create({ percent_off: 10, duration: "once" });
    const trialOnce = await refusal(
      t.stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: price.id }],
        trial_period_days: 7,
        discounts: [{ coupon: once.id }],
      }),
    );
    expect(trialOnce).toMatchObject({ statusCode: 400, param: "discounts[0][coupon]" });

    const forever = await t.stripe.coupons.create({ percent_off: 10, duration: "forever" });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      discounts: [{ coupon: forever.id }],
    });
    const bigger = await t.stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: 2000,
      recurring: { interval: "month" },
    });
    const item = sub.items.data[0]!.id;
    const prorated = await refusal(
      t.stripe.subscriptions.update(sub.id, {
        items: [{ id: item, price: bigger.id }],
        proration_date: sub.start_date + 60,
      }),
    );
    expect(prorated).toMatchObject({ statusCode: 400, param: "proration_behavior" });
    const unprorated = await t.stripe.subscriptions.update(sub.id, {
      items: [{ id: item, price: bigger.id }],
      proration_behavior: "none",
    });
    expect(unprorated.items.data[0]!.price.id).toBe(bigger.id);
  });
});

// docs.stripe.com/api/invoices/create_preview: the preview shows the invoice as it will be
// billed, so it carries the discounts that will still be active at the renewal it previews.
describe("create_preview with discounts", () => {
  it("previews the next renewal discounted while the discount lasts, at full price after its end", async () => {
    const { clock, customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      unitAmount: 2000,
      frozenTime: utc(2026, 1, 15),
    });
    const coupon = await t.stripe.coupons.create({
      percent_off: 15,
      duration: "repeating",
      duration_in_months: 2,
    });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      discounts: [{ coupon: coupon.id }],
    });
    const discountId = sub.discounts[0] as string;
    const next = await t.stripe.invoices.createPreview({ subscription: sub.id });
    expect(next).toMatchObject({
      subtotal: 2000,
      total: 1700,
      amount_due: 1700,
      discounts: [discountId],
      total_discount_amounts: [{ amount: 300, discount: discountId }],
    });
    await advanceClock(t.stripe, clock!.id, utc(2026, 2, 15));
    // The renewal on Mar 15 is the discount's end: previewed at full price.
    const afterEnd = await t.stripe.invoices.createPreview({ subscription: sub.id });
    expect(afterEnd).toMatchObject({
      subtotal: 2000,
      total: 2000,
      discounts: [],
      total_discount_amounts: [],
    });
    // The preview changed nothing: the subscription still has its discount until Mar 15.
    expect((await t.stripe.subscriptions.retrieve(sub.id)).discounts).toEqual([discountId]);
  });
  it("previews a new subscription's first invoice with its one-off items and a coupon, redeeming nothing", async () => {
    const { customer, price, product } = await billingSetup(t.stripe, { withClock: false });
    const fee = await t.stripe.prices.create({ product: product.id, currency: "usd", unit_amount: 500 });
    const coupon = await t.stripe.coupons.create({
      percent_off: 20,
      duration: "repeating",
      duration_in_months: 3,
    });
    const preview = await t.stripe.invoices.createPreview({
      customer: customer.id,
      subscription_details: { items: [{ price: price.id, quantity: 2 }] },
      invoice_items: [{ price: fee.id, discountable: false }],
      discounts: [{ coupon: coupon.id }],
    });
    // 2 × 1000 discounted 20 %, the 500 fee not discountable.
    expect(preview).toMatchObject({
      billing_reason: "subscription_create",
      subtotal: 2500,
      total: 2100,
      amount_due: 2100,
      total_discount_amounts: [{ amount: 400 }],
    });
    expect(preview.lines.data.map((l) => [l.amount, l.discountable])).toEqual([
      [2000, true],
      [500, false],
    ]);
    expect((await t.stripe.coupons.retrieve(coupon.id)).times_redeemed).toBe(0);
    expect((await t.stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(0);
    // An invoice item the emulator cannot price is refused by name, not ignored.
    const raw = await refusal(
      t.stripe.invoices.createPreview({
        customer: customer.id,
        subscription_details: { items: [{ price: price.id }] },
        invoice_items: [{ amount: 300, currency: "usd" }],
      }),
    );
    expect(raw).toMatchObject({ statusCode: 400, param: "invoice_items[0][amount]" });
  });
  // docs.stripe.com/api/invoices/create_preview: `customer_details`, "details about the customer you
  // want to invoice", for someone who is not a customer yet.
  it("previews a new subscription for someone who is not a customer yet from customer_details, creating no customer", async () => {
    const { price } = await billingSetup(t.stripe, { withClock: false });
    const customers = (await t.stripe.customers.list({ limit: 100 })).data.length;
    const preview = await t.stripe.invoices.createPreview({
      customer_details: { address: { country: "GB" }, tax_exempt: "none" },
      subscription_details: { items: [{ price: price.id, quantity: 2 }] },
    });
    expect(preview).toMatchObject({
      customer: null,
      customer_address: { country: "GB" },
      billing_reason: "subscription_create",
      amount_due: 2000,
    });
    expect((await t.stripe.customers.list({ limit: 100 })).data).toHaveLength(customers);
    // Nothing says who is invoiced: refused (stricter than Stripe without automatic tax).
    const raw = await refusal(
      t.stripe.invoices.createPreview({ subscription_details: { items: [{ price: price.id }] } }),
    );
    expect(raw).toMatchObject({ statusCode: 400, param: "customer", code: "parameter_missing" });
  });
});

// docs.stripe.com/api/subscription_schedules/update#update_subscription_schedule-phases-discounts:
// a phase's discounts become the subscription's when it starts; "If not specified, inherits the
// discount from the subscription's customer", so the subscription's own discount is dropped.
describe("schedule phases and discounts", () => {
  async function discountedWithSchedule(cheaper: number) {
    const { clock, customer, price, product } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 5, 1),
    });
    const coupon = await t.stripe.coupons.create({ percent_off: 10, duration: "forever" });
    const next = await t.stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: cheaper,
      recurring: { interval: "month" },
    });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      discounts: [{ coupon: coupon.id }],
    });
    const schedule = await t.stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    const discountId = sub.discounts[0] as string;
    // The phase made from the subscription carries its discount.
    expect(schedule.phases[0]!.discounts).toEqual([
      { coupon: null, discount: discountId, promotion_code: null },
    ]);
    return { clock: clock!, sub, schedule, price, next, coupon, discountId };
  }

  it("a phase listing the subscription's discount keeps it: the next renewal is discounted", async () => {
    const { clock, sub, schedule, price, next, discountId } = await discountedWithSchedule(800);
    const phase = schedule.phases[0]!;
    await t.stripe.subscriptionSchedules.update(schedule.id, {
      phases: [
        {
          items: [{ price: price.id }],
          start_date: phase.start_date,
          end_date: phase.end_date,
          discounts: [{ discount: discountId }],
        },
        {
          items: [{ price: next.id }],
          proration_behavior: "none",
          discounts: [{ discount: discountId }],
        },
      ],
    });
    const [renewal] = await renewals(clock.id, sub.id, [phase.end_date + 3600]);
    expect(renewal).toMatchObject({ subtotal: 800, total: 720, discounts: 1 });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).discounts).toEqual([discountId]);
  });

  it("a phase without discounts drops the subscription's at its start (the customer's would apply)", async () => {
    const { clock, sub, schedule, price, next } = await discountedWithSchedule(800);
    const phase = schedule.phases[0]!;
    await t.stripe.subscriptionSchedules.update(schedule.id, {
      phases: [
        { items: [{ price: price.id }], start_date: phase.start_date, end_date: phase.end_date },
        { items: [{ price: next.id }], proration_behavior: "none" },
      ],
    });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).discounts).toHaveLength(1);
    const [renewal] = await renewals(clock.id, sub.id, [phase.end_date + 3600]);
    expect(renewal).toMatchObject({ subtotal: 800, total: 800, discounts: 0 });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).discounts).toEqual([]);
  });

  it("refuses what it does not model: coupon entries, item discounts, a discount not the subscription's, prorating a discounted period", async () => {
    const { sub, schedule, price, next, coupon, discountId } = await discountedWithSchedule(800);
    const phase = schedule.phases[0]!;
    const first = { items: [{ price: price.id }], start_date: phase.start_date, end_date: phase.end_date };
    const update = (second: Stripe.SubscriptionScheduleUpdateParams.Phase) =>
      refusal(t.stripe.subscriptionSchedules.update(schedule.id, { phases: [first, second] }));
    expect(await update({ items: [{ price: next.id }], discounts: [{ coupon: coupon.id }] })).toMatchObject({
      statusCode: 400,
      param: "phases[1][discounts][0][coupon]",
    });
    expect(
      await update({
        items: [{ price: next.id, discounts: [{ coupon: coupon.id }] }],
        proration_behavior: "none",
      }),
    ).toMatchObject({ statusCode: 400, param: "phases[1][items][0][discounts]" });
    expect(
      await update({ items: [{ price: next.id }], discounts: [{ discount: "di_other" }] }),
    ).toMatchObject({
      statusCode: 404,
      param: "phases[1][discounts][0][discount]",
    });
    const midway = phase.start_date + 10 * 86400;
    expect(
      await refusal(
        t.stripe.subscriptionSchedules.update(schedule.id, {
          phases: [
            { ...first, end_date: midway },
            { items: [{ price: next.id }], start_date: midway, discounts: [{ discount: discountId }] },
          ],
        }),
      ),
    ).toMatchObject({ statusCode: 400, param: "phases[1][proration_behavior]" });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).discounts).toEqual([discountId]);
  });
});
