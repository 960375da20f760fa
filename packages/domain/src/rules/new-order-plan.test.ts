import { describe, expect, it } from "vitest";
import { monthlyCharge, testOffer as offer, oneOffCharge as oneOff } from "../../test/offer-builders.ts";
import type { Offer } from "../catalog.ts";
import {
  checkTotal,
  isFutureDate,
  type NewOrderInput,
  planNewOrder,
  subscriptionCreateParams,
  termEndFromAnchor,
} from "./new-order-plan.ts";
import { refusalOf } from "./refusal.ts";

const catalog: Record<string, Offer> = Object.fromEntries(
  [
    offer("digital", [monthlyCharge("9.99")]),
    offer("print", [monthlyCharge("24.99"), oneOff("4.99")]),
    offer("puzzles", [monthlyCharge("2.00")]),
    offer("tote", [oneOff("15.00")]),
    offer("setup-at-start", [oneOff("3.00", "subscription_start")]),
    offer("annual", [monthlyCharge("99.00", { repeat_interval_type: "years" })], {
      term: { length: 1, type: "years" },
    }),
    offer("usd", [monthlyCharge("12.99", { currencyCode: "USD" })]),
    offer("twelve-month-term", [monthlyCharge("9.99")], { term: { length: 12, type: "months" } }),
    offer("fixed-year", [monthlyCharge("9.99")], { term: { length: 12, type: "months" }, autoRenew: false }),
    offer("fixed-odd", [monthlyCharge("9.99", { repeat_interval: 5 })], {
      term: { length: 1, type: "years" },
      autoRenew: false,
    }),
    offer("trial-14d", [
      monthlyCharge("9.99", { trigger: "delayed", delay_interval: 14, delay_interval_type: "days" }),
    ]),
    offer("half-trial", [
      monthlyCharge("9.99"),
      monthlyCharge("1.00", { trigger: "delayed", delay_interval: 1, delay_interval_type: "months" }),
    ]),
    offer("limited", [monthlyCharge("9.99", { repeat_count: 3 })]),
  ].map((o) => [o.id, o]),
);
const findOffer = (id: string) => catalog[id];
const now = new Date("2026-12-01T10:00:00Z");
const plan = (order: Partial<NewOrderInput> & { orderItems?: NewOrderInput["orderItems"] }) =>
  planNewOrder({ order: { orderItems: [{ offer: { id: "digital" } }], ...order }, findOffer, now });
const refusedAt = (run: () => unknown): string => refusalOf(run)?.message ?? "no refusal";

describe("planNewOrder: items, add-ons, quantities", () => {
  it("one offer: its recurring charge is the item, its one-off charge goes on the first invoice", () => {
    const p = plan({ orderItems: [{ offer: { id: "print" }, quantity: 2 }] });
    expect(p.items.map((c) => [c.path, c.price.unit_amount, c.quantity, c.amount])).toEqual([
      ["orderItems.0", 2499, 2, 4998],
    ]);
    expect(p.addInvoiceItems.map((c) => [c.price.unit_amount, c.quantity])).toEqual([[499, 2]]);
    expect(p.amountDueToday).toBe(4998 + 998);
    expect([p.currency, p.recurring, p.autoRenew, p.trialEnd, p.cancelAt]).toEqual([
      "gbp",
      { interval: "month", interval_count: 1 },
      true,
      undefined,
      undefined,
    ]);
    expect(p.billingStart).toEqual(now);
  });

  it("several items and add-ons are co-termed on one subscription", () => {
    const p = plan({
      orderItems: [
        {
          offer: { id: "digital" },
          addOns: [{ addOn: { id: "puzzles" }, quantity: 3 }, { offer: { id: "tote" } }],
        },
        { offer: { id: "print" } },
      ],
    });
    expect(p.items.map((c) => [c.path, c.role, c.offerId, c.quantity])).toEqual([
      ["orderItems.0", "offer", "digital", 1],
      ["orderItems.0.addOns.0", "add_on", "puzzles", 3],
      ["orderItems.1", "offer", "print", 1],
    ]);
    expect(p.addInvoiceItems.map((c) => [c.path, c.offerId])).toEqual([
      ["orderItems.0.addOns.1", "tote"],
      ["orderItems.1", "print"],
    ]);
    expect(p.amountDueToday).toBe(999 + 600 + 2499 + 1500 + 499);
    expect(p.offerId).toBe("digital");
    // Each charge has its own Price, on its own offer's product and lookup key.
    expect(new Set(p.items.map((c) => c.price.lookup_key)).size).toBe(3);
  });

  it("refuses more than 20 recurring or 20 one-off charges naming orderItems (Stripe's limit on items and add_invoice_items)", () => {
    const addOns = (n: number, id: string) => Array.from({ length: n }, () => ({ addOn: { id } }));
    // 1 + 19 add-ons = 20 subscription items: taken.
    expect(
      plan({ orderItems: [{ offer: { id: "digital" }, addOns: addOns(19, "puzzles") }] }).items,
    ).toHaveLength(20);
    expect(
      refusedAt(() => plan({ orderItems: [{ offer: { id: "digital" }, addOns: addOns(20, "puzzles") }] })),
    ).toMatch(/^orderItems: 21 recurring charges .* at most 20/);
    expect(
      plan({ orderItems: [{ offer: { id: "digital" }, addOns: addOns(20, "tote") }] }).addInvoiceItems,
    ).toHaveLength(20);
    expect(
      refusedAt(() => plan({ orderItems: [{ offer: { id: "digital" }, addOns: addOns(21, "tote") }] })),
    ).toMatch(/^orderItems: 21 one-off charges; .* at most 20/);
  });

  it("refuses an item or add-on billed at another interval or in another currency, naming it", () => {
    expect(
      refusedAt(() => plan({ orderItems: [{ offer: { id: "digital" } }, { offer: { id: "annual" } }] })),
    ).toMatch(/^orderItems\.1: bills every 1 year\(s\) but the subscription bills every 1 month\(s\)/);
    expect(
      refusedAt(() =>
        plan({ orderItems: [{ offer: { id: "digital" }, addOns: [{ addOn: { id: "annual" } }] }] }),
      ),
    ).toMatch(/^orderItems\.0\.addOns\.0: bills every 1 year/);
    expect(
      refusedAt(() => plan({ orderItems: [{ offer: { id: "digital" } }, { offer: { id: "usd" } }] })),
    ).toMatch(/^orderItems\.1: offer 'usd' bills in USD, the order in GBP/);
  });

  it("refuses unknown offers, missing add-on ids, offers without a recurring charge and out-of-bound quantities", () => {
    expect(refusedAt(() => plan({ orderItems: [{ offer: { id: "nope" } }] }))).toMatch(
      /^orderItems\.0\.offer\.id: no published offer 'nope'/,
    );
    expect(
      refusedAt(() => plan({ orderItems: [{ offer: { id: "digital" } }, { offer: { id: "nope" } }] })),
    ).toMatch(/^orderItems\.1\.offer\.id/);
    expect(
      refusedAt(() => plan({ orderItems: [{ offer: { id: "digital" }, addOns: [{ quantity: 1 }] }] })),
    ).toMatch(/^orderItems\.0\.addOns\.0\.addOn\.id: required/);
    expect(refusedAt(() => plan({ orderItems: [{ offer: { id: "tote" } }] }))).toMatch(
      /^orderItems\.0\.offer\.id: offer 'tote' has no recurring charge/,
    );
    expect(refusedAt(() => plan({ orderItems: [{ offer: { id: "digital" }, quantity: 1001 }] }))).toMatch(
      /^orderItems\.0\.quantity: quantity 1001 is outside 1\.\.1000/,
    );
    expect(refusedAt(() => plan({ orderItems: [{ offer: { id: "digital" }, quantity: 0 }] }))).toMatch(
      /^orderItems\.0\.quantity/,
    );
    expect(
      refusedAt(() =>
        plan({
          orderItems: [{ offer: { id: "digital" }, addOns: [{ addOn: { id: "puzzles" }, quantity: 5000 }] }],
        }),
      ),
    ).toMatch(/^orderItems\.0\.addOns\.0\.quantity/);
    expect(refusedAt(() => plan({ orderItems: [] }))).toMatch(/^orderItems: /);
    expect(refusedAt(() => plan({ orderItems: [{ offer: { id: "limited" } }] }))).toMatch(
      /^orderItems\.0: .*repeats only 3 times/,
    );
    expect(
      refusedAt(() =>
        planNewOrder({
          order: { orderItems: [{ offer: { id: "digital" }, quantity: 11 }] },
          findOffer,
          now,
          limits: { maxQuantity: 10 },
        }),
      ),
    ).toMatch(/outside 1\.\.10/);
  });
});

describe("planNewOrder: discounts", () => {
  const pct3 = {
    name: "Three months 50%",
    discountOverrides: {
      discountType: "percentage",
      percentageDiscount: 50,
      durationType: "billing_periods",
      durationLength: 3,
    },
  };

  it("puts the coupon on the subscription and bills today's recurring lines less the discount; one-offs in full", () => {
    const p = plan({ orderItems: [{ offer: { id: "print" } }], orderDiscount: pct3 });
    expect(p.coupon).toMatchObject({ percent_off: 50, duration: "repeating", duration_in_months: 3 });
    expect(p.amountDueToday).toBe(2499 - 1250 + 499);
  });

  it("an amount discount forever is capped at the recurring lines", () => {
    const p = plan({
      orderDiscount: {
        discountOverrides: {
          discountType: "amount",
          amountDiscount: "20",
          currency: "GBP",
          durationType: "forever",
        },
      },
    });
    expect(p.coupon).toMatchObject({ amount_off: 2000, duration: "forever" });
    expect(p.amountDueToday).toBe(0);
  });

  it("an empty orderDiscount asks for nothing", () => {
    expect(plan({ orderDiscount: {} }).coupon).toBeUndefined();
    expect(plan({ orderDiscount: null }).coupon).toBeUndefined();
  });

  it("refuses a discount on a subscription whose billing starts later (Stripe counts it from today)", () => {
    expect(
      refusedAt(() => plan({ orderItems: [{ offer: { id: "trial-14d" } }], orderDiscount: pct3 })),
    ).toMatch(/^orderDiscount: /);
  });
});

describe("planNewOrder: future start and Limio's trial", () => {
  it("an orderDate ahead: nothing recurring charged today, trial_end at that date", () => {
    const p = plan({ orderDate: "2026-12-24T00:00:00Z", orderItems: [{ offer: { id: "print" } }] });
    expect(p.trialEnd).toEqual(new Date("2026-12-24T00:00:00Z"));
    expect(p.billingStart).toEqual(p.trialEnd);
    // The one-off triggered at the order date is still due today (Limio's order_date trigger).
    expect(p.amountDueToday).toBe(499);
  });

  it("a date-only orderDate of today, a past one, or one a minute ahead (clock skew) starts now", () => {
    for (const orderDate of ["2026-12-01", "2026-11-01T00:00:00Z", "2026-12-01T10:01:00Z"]) {
      const p = plan({ orderDate });
      expect([p.trialEnd, p.amountDueToday], orderDate).toEqual([undefined, 999]);
    }
    expect(plan({ orderDate: "2026-12-02" }).trialEnd).toEqual(new Date("2026-12-02T00:00:00Z"));
  });

  it("a delayed charge is Limio's trial: billing starts after the delay, from the start date", () => {
    const p = plan({ orderItems: [{ offer: { id: "trial-14d" } }], isTrial: true });
    expect(p.trialEnd).toEqual(new Date("2026-12-15T10:00:00Z"));
    expect(p.amountDueToday).toBe(0);
    const later = plan({ orderItems: [{ offer: { id: "trial-14d" } }], orderDate: "2027-01-10T00:00:00Z" });
    expect(later.trialEnd).toEqual(new Date("2027-01-24T00:00:00Z"));
  });

  it("refuses what a trial cannot carry, naming the field", () => {
    expect(refusedAt(() => plan({ isTrial: true }))).toMatch(
      /^isTrial: the order asks for a trial but offer 'digital' has no delayed charge/,
    );
    expect(refusedAt(() => plan({ orderItems: [{ offer: { id: "half-trial" } }] }))).toMatch(
      /^orderItems\.0: its charges start at a different time/,
    );
    expect(
      refusedAt(() =>
        plan({ orderItems: [{ offer: { id: "trial-14d" }, addOns: [{ addOn: { id: "setup-at-start" } }] }] }),
      ),
    ).toMatch(
      /^orderItems\.0\.addOns\.0: a one-off charge triggered at 'subscription_start' cannot be put on a later invoice/,
    );
    expect(refusedAt(() => plan({ orderDate: "2029-01-01T00:00:00Z" }))).toMatch(
      /^orderDate: billing would start more than 730 days ahead/,
    );
  });

  it("without a future start, a one-off at subscription start is billed today", () => {
    expect(
      plan({ orderItems: [{ offer: { id: "digital" }, addOns: [{ addOn: { id: "setup-at-start" } }] }] })
        .amountDueToday,
    ).toBe(1299);
  });
});

describe("planNewOrder: fixed terms", () => {
  it("autoRenew false ends the subscription at the term end (cancel_at), counted from billing start", () => {
    const p = plan({ orderItems: [{ offer: { id: "twelve-month-term" } }], autoRenew: false });
    expect([p.autoRenew, p.cancelAt, p.term]).toEqual([
      false,
      new Date("2027-12-01T10:00:00Z"),
      { length: 12, type: "months" },
    ]);
    const trial = plan({ orderItems: [{ offer: { id: "trial-14d" } }], autoRenew: false });
    expect(trial.cancelAt).toEqual(new Date("2027-01-15T10:00:00Z"));
  });

  it("the offer's autoRenew false is a fixed term too, and autoRenew true on the order does not make it renew", () => {
    expect(plan({ orderItems: [{ offer: { id: "fixed-year" } }] }).cancelAt).toEqual(
      new Date("2027-12-01T10:00:00Z"),
    );
    // true or absent: the offer's autoRenew (field-rules.ts, docs/limio-order-fields.md).
    const renewing = plan({ orderItems: [{ offer: { id: "fixed-year" } }], autoRenew: true });
    expect([renewing.autoRenew, renewing.cancelAt]).toEqual([false, new Date("2027-12-01T10:00:00Z")]);
  });

  it("counts the term from Stripe's billing anchor when Stripe anchored later than the plan", () => {
    const p = plan({ orderItems: [{ offer: { id: "twelve-month-term" } }], autoRenew: false });
    // Anchored as planned (to the second): nothing to move.
    expect(termEndFromAnchor(p, new Date("2026-12-01T10:00:00.700Z"))).toBeUndefined();
    // A create retried a day and a half later: twelve months from that anchor, not from the plan.
    expect(termEndFromAnchor(p, new Date("2026-12-02T22:00:00Z"))).toEqual(new Date("2027-12-02T22:00:00Z"));
    // No fixed term, nothing to move.
    const renewing = plan({ orderItems: [{ offer: { id: "twelve-month-term" } }] });
    expect(termEndFromAnchor(renewing, new Date("2026-12-02T22:00:00Z"))).toBeUndefined();
  });

  it("refuses a fixed term that does not end on a billing date", () => {
    expect(refusedAt(() => plan({ orderItems: [{ offer: { id: "fixed-odd" } }] }))).toMatch(
      /^orderItems\.0\.offer\.id: a fixed term of 1 years does not end/,
    );
    expect(
      refusedAt(() =>
        plan({ orderItems: [{ offer: { id: "annual" } }, { offer: { id: "annual" } }], autoRenew: false }),
      ),
    ).toBe("no refusal");
  });
});

describe("planNewOrder: what asked for a later start or a fixed term", () => {
  it("names the order field, or the offer when the catalog alone asks for it", () => {
    expect(plan({ orderDate: "2026-12-24" }).trialFrom).toBe("orderDate");
    expect(plan({ orderItems: [{ offer: { id: "trial-14d" } }] }).trialFrom).toBe("orderItems.0.offer.id");
    expect(plan({ autoRenew: false }).fixedTermFrom).toBe("autoRenew");
    expect(plan({ orderItems: [{ offer: { id: "fixed-year" } }] }).fixedTermFrom).toBe(
      "orderItems.0.offer.id",
    );
    expect(plan({})).not.toHaveProperty("trialFrom");
    expect(plan({})).not.toHaveProperty("fixedTermFrom");
  });
});

describe("checkTotal", () => {
  it("accepts the amount Stripe bills today and refuses any other, naming total", () => {
    expect(
      refusedAt(() =>
        plan({ orderItems: [{ offer: { id: "print" } }], total: { amount: "29.98", currency: "GBP" } }),
      ),
    ).toBe("no refusal");
    expect(
      refusedAt(() => plan({ orderItems: [{ offer: { id: "print" } }], total: { amount: 29.98 } })),
    ).toBe("no refusal");
    expect(
      refusedAt(() =>
        plan({ orderItems: [{ offer: { id: "print" } }], total: { amount: "24.99", currency: "GBP" } }),
      ),
    ).toBe("total: the order's total 24.99 GBP differs from what Stripe would bill today, 29.98 GBP");
    expect(refusedAt(() => checkTotal({ amount: "1", currency: "USD" }, "GBP", 100))).toMatch(
      /^total\.currency/,
    );
    expect(refusedAt(() => checkTotal({ amount: "1.001", currency: "GBP" }, "GBP", 100))).toMatch(
      /^total\.amount/,
    );
    expect(refusedAt(() => checkTotal({ currency: "GBP" }, "GBP", 100))).toBe("no refusal");
  });
});

describe("subscriptionCreateParams", () => {
  it("maps the plan to Stripe's money fields, one-offs not discountable", () => {
    const p = plan({
      orderItems: [{ offer: { id: "print" }, quantity: 2 }],
      orderDiscount: {
        discountOverrides: { discountType: "percentage", percentageDiscount: 10, durationType: "once" },
      },
      autoRenew: false,
    });
    const params = subscriptionCreateParams(p, (c) => `price_${c.offerId}_${c.chargeIndex}`);
    expect(params).toEqual({
      items: [{ price: "price_print_0", quantity: 2 }],
      add_invoice_items: [{ price: "price_print_1", quantity: 2, discountable: false }],
      discounts: [{ coupon: p.coupon!.id }],
      cancel_at: Math.floor(p.cancelAt!.getTime() / 1000),
    });
    const trial = subscriptionCreateParams(
      plan({ orderItems: [{ offer: { id: "trial-14d" } }] }),
      () => "price_x",
    );
    expect(trial).toEqual({
      items: [{ price: "price_x", quantity: 1 }],
      trial_end: Math.floor(Date.parse("2026-12-15T10:00:00Z") / 1000),
    });
  });
});

describe("isFutureDate", () => {
  it("a date alone is its whole UTC day; a date-time allows five minutes of clock skew", () => {
    expect(isFutureDate("2026-12-01", now)).toBe(false);
    expect(isFutureDate("2026-12-02", now)).toBe(true);
    expect(isFutureDate("2026-12-01T10:04:59Z", now)).toBe(false);
    expect(isFutureDate("2026-12-01T10:05:01Z", now)).toBe(true);
  });
});
