import { describe, expect, it } from "vitest";
import { couponForDiscount, discountOff, type LimioOrderDiscount } from "./discounts.ts";
import type { StripeRecurring } from "./price-params.ts";
import { refusalOf } from "./refusal.ts";

type Billing = { currency: string; recurring: StripeRecurring };
const monthly: Billing = { currency: "GBP", recurring: { interval: "month", interval_count: 1 } };
const quarterly: Billing = { currency: "GBP", recurring: { interval: "month", interval_count: 3 } };
const yearly: Billing = { currency: "GBP", recurring: { interval: "year", interval_count: 1 } };
const weekly: Billing = { currency: "GBP", recurring: { interval: "week", interval_count: 1 } };

const discount = (overrides: Record<string, unknown>, name = "Welcome"): LimioOrderDiscount => ({
  name,
  discountOverrides: overrides,
});
const pct = (extra: Record<string, unknown> = {}) =>
  discount({ discountType: "percentage", percentageDiscount: 20, durationType: "once", ...extra });
const amount = (extra: Record<string, unknown> = {}) =>
  discount({
    discountType: "amount",
    amountDiscount: "5.00",
    currency: "GBP",
    durationType: "forever",
    ...extra,
  });

/** The refusal's path, or "no refusal". */
function refusedAt(run: () => unknown): string {
  return refusalOf(run)?.path ?? "no refusal";
}

describe("couponForDiscount", () => {
  it("a percentage once → percent_off, duration once", () => {
    const c = couponForDiscount(pct(), monthly);
    expect(c).toMatchObject({ name: "Welcome", percent_off: 20, duration: "once" });
    expect(c).not.toHaveProperty("amount_off");
    expect(c).not.toHaveProperty("duration_in_months");
    expect(c.id).toMatch(/^limio-[0-9a-f]{16}$/);
  });

  it("an amount forever → amount_off in minor units and the currency, duration forever", () => {
    expect(couponForDiscount(amount(), monthly)).toMatchObject({
      amount_off: 500,
      currency: "gbp",
      duration: "forever",
    });
    expect(couponForDiscount(amount({ amountDiscount: 7 }), monthly).amount_off).toBe(700);
  });

  it("a three-decimal amount Stripe cannot charge exactly is refused by name, never rounded up", () => {
    const kwd: Billing = { currency: "KWD", recurring: monthly.recurring };
    const kwdAmount = (amountDiscount: string) => amount({ amountDiscount, currency: "KWD" });
    expect(refusedAt(() => couponForDiscount(kwdAmount("0.005"), kwd))).toBe(
      "orderDiscount.discountOverrides.amountDiscount",
    );
    expect(couponForDiscount(kwdAmount("0.010"), kwd).amount_off).toBe(10);
  });

  it("N billing periods → repeating for N × the interval in months", () => {
    const three = (b: Billing, extra = {}) =>
      couponForDiscount(pct({ durationType: "billing_periods", durationLength: 3, ...extra }), b);
    expect(three(monthly)).toMatchObject({ duration: "repeating", duration_in_months: 3 });
    expect(three(quarterly)).toMatchObject({ duration: "repeating", duration_in_months: 9 });
    expect(three(yearly)).toMatchObject({ duration: "repeating", duration_in_months: 36 });
    expect(three(monthly, { durationLength: "3" })).toMatchObject({ duration_in_months: 3 });
  });

  it("months and years are counted as such, when they end on a billing date", () => {
    expect(couponForDiscount(pct({ durationType: "months", durationLength: 6 }), monthly)).toMatchObject({
      duration: "repeating",
      duration_in_months: 6,
    });
    expect(couponForDiscount(pct({ durationType: "months", durationLength: 6 }), quarterly)).toMatchObject({
      duration_in_months: 6,
    });
    expect(couponForDiscount(pct({ durationType: "year", durationLength: 2 }), yearly)).toMatchObject({
      duration_in_months: 24,
    });
  });

  it("accepts Limio's spellings, case-insensitively", () => {
    expect(
      couponForDiscount(
        discount({ discountType: "Percent", percentageDiscount: "12.5", durationType: "ONCE" }),
        monthly,
      ),
    ).toMatchObject({ percent_off: 12.5, duration: "once" });
    expect(
      couponForDiscount(
        discount({
          discountType: "fixed_amount",
          amountDiscount: 1,
          currency: "gbp",
          durationType: "indefinite",
        }),
        monthly,
      ),
    ).toMatchObject({ amount_off: 100, duration: "forever" });
  });

  it("gives identical definitions one id, and different ones different ids", () => {
    const id = (d: LimioOrderDiscount, b: Billing = monthly) => couponForDiscount(d, b).id;
    expect(id(pct())).toBe(id(pct()));
    expect(id(pct({ percentageDiscount: "20" }))).toBe(id(pct()));
    expect(id(pct({ percentageDiscount: 21 }))).not.toBe(id(pct()));
    expect(id(pct({ durationType: "forever" }))).not.toBe(id(pct()));
    expect(
      id(discount({ discountType: "percentage", percentageDiscount: 20, durationType: "once" }, "Other")),
    ).not.toBe(id(pct()));
    expect(id(amount())).not.toBe(id(amount({ amountDiscount: "5.01" })));
    // The same "3 periods" is a different coupon on monthly and yearly billing (3 vs 36 months).
    const three = pct({ durationType: "billing_periods", durationLength: 3 });
    expect(id(three, monthly)).not.toBe(id(three, yearly));
  });

  it("keeps the coupon name within Stripe's 40 characters", () => {
    const c = couponForDiscount(
      discount({ discountType: "percentage", percentageDiscount: 5, durationType: "once" }, "x".repeat(60)),
      monthly,
    );
    expect(c.name).toHaveLength(40);
  });

  it.each([
    ["no overrides", { name: "x" }, "orderDiscount.discountOverrides"],
    [
      "an unknown type",
      discount({ discountType: "bogof", durationType: "once" }),
      "orderDiscount.discountOverrides.discountType",
    ],
    [
      "a percentage over 100",
      pct({ percentageDiscount: 101 }),
      "orderDiscount.discountOverrides.percentageDiscount",
    ],
    [
      "a zero percentage",
      pct({ percentageDiscount: 0 }),
      "orderDiscount.discountOverrides.percentageDiscount",
    ],
    [
      "a negative percentage",
      pct({ percentageDiscount: -5 }),
      "orderDiscount.discountOverrides.percentageDiscount",
    ],
    [
      "three decimals of a percent",
      pct({ percentageDiscount: "10.125" }),
      "orderDiscount.discountOverrides.percentageDiscount",
    ],
    [
      "a missing percentage",
      pct({ percentageDiscount: undefined }),
      "orderDiscount.discountOverrides.percentageDiscount",
    ],
    [
      "a percentage with an amount",
      pct({ amountDiscount: 5 }),
      "orderDiscount.discountOverrides.amountDiscount",
    ],
    [
      "an amount without currency",
      amount({ currency: undefined }),
      "orderDiscount.discountOverrides.currency",
    ],
    [
      "an amount in another currency",
      amount({ currency: "USD" }),
      "orderDiscount.discountOverrides.currency",
    ],
    [
      "a missing amount",
      amount({ amountDiscount: undefined }),
      "orderDiscount.discountOverrides.amountDiscount",
    ],
    ["a zero amount", amount({ amountDiscount: "0" }), "orderDiscount.discountOverrides.amountDiscount"],
    [
      "an amount finer than the currency",
      amount({ amountDiscount: "5.001" }),
      "orderDiscount.discountOverrides.amountDiscount",
    ],
    [
      "an amount with a percentage",
      amount({ percentageDiscount: 10 }),
      "orderDiscount.discountOverrides.percentageDiscount",
    ],
    [
      "an unknown duration",
      pct({ durationType: "fortnightly" }),
      "orderDiscount.discountOverrides.durationType",
    ],
    ["no duration", pct({ durationType: undefined }), "orderDiscount.discountOverrides.durationType"],
    [
      "N periods without N",
      pct({ durationType: "billing_periods" }),
      "orderDiscount.discountOverrides.durationLength",
    ],
    [
      "a fractional N",
      pct({ durationType: "billing_periods", durationLength: 1.5 }),
      "orderDiscount.discountOverrides.durationLength",
    ],
    [
      "a zero N",
      pct({ durationType: "months", durationLength: 0 }),
      "orderDiscount.discountOverrides.durationLength",
    ],
    [
      "more than 10 years",
      pct({ durationType: "years", durationLength: 11 }),
      "orderDiscount.discountOverrides.durationLength",
    ],
  ])("refuses %s, naming the field", (_, d, path) => {
    expect(refusedAt(() => couponForDiscount(d as LimioOrderDiscount, monthly))).toBe(path);
  });

  it("refuses durations Stripe cannot line up with the billing interval", () => {
    // Stripe counts repeating coupons in months: weekly billing has no month count.
    expect(
      refusedAt(() => couponForDiscount(pct({ durationType: "billing_periods", durationLength: 4 }), weekly)),
    ).toBe("orderDiscount.discountOverrides.durationType");
    // 3 months on a yearly bill would discount the whole first year.
    expect(
      refusedAt(() => couponForDiscount(pct({ durationType: "months", durationLength: 3 }), yearly)),
    ).toBe("orderDiscount.discountOverrides.durationLength");
    expect(
      refusedAt(() => couponForDiscount(pct({ durationType: "months", durationLength: 4 }), quarterly)),
    ).toBe("orderDiscount.discountOverrides.durationLength");
    // once and forever need no month count, whatever the interval.
    expect(refusedAt(() => couponForDiscount(pct(), weekly))).toBe("no refusal");
    expect(refusedAt(() => couponForDiscount(pct({ durationType: "forever" }), weekly))).toBe("no refusal");
  });
});

describe("discountOff", () => {
  it("rounds a percentage per line, half up, in integers", () => {
    expect(discountOff({ percent_off: 20 }, [999])).toBe(200); // 199.8
    expect(discountOff({ percent_off: 12.5 }, [999])).toBe(125); // 124.875
    expect(discountOff({ percent_off: 50 }, [999])).toBe(500); // 499.5 → 500
    expect(discountOff({ percent_off: 33.33 }, [999, 999])).toBe(666); // 332.97 + 332.97
    expect(discountOff({ percent_off: 100 }, [2499, 499])).toBe(2998);
    expect(discountOff({ percent_off: 10 }, [])).toBe(0);
  });

  it("caps an amount at what the lines add up to", () => {
    expect(discountOff({ amount_off: 500 }, [999])).toBe(500);
    expect(discountOff({ amount_off: 5000 }, [999, 1000])).toBe(1999);
  });
});
