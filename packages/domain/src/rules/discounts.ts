import { toMinorUnits } from "./money.ts";
import { fnv1a64, type StripeRecurring } from "./price-params.ts";
import { refuse } from "./refusal.ts";

/**
 * Limio `orderDiscount` → a Stripe coupon redeemed on the subscription (`discounts: [{coupon}]`).
 * The coupon id is derived from the definition, so identical discounts reuse one coupon (the
 * writer creates it with that id; "already exists" means reuse). Impossible combinations are
 * refused naming the field. See docs/decisions/015-limio-order-fields-in-stripe.md.
 */

export type LimioOrderDiscount = {
  name?: string | undefined;
  discountOverrides?:
    | {
        discountType?: string | undefined;
        durationLength?: number | string | undefined;
        durationType?: string | undefined;
        percentageDiscount?: number | string | undefined;
        amountDiscount?: number | string | undefined;
        currency?: string | undefined;
      }
    | undefined;
};

/** The subset of Stripe's CouponCreateParams the bridge sets. */
export type StripeCouponCreateParams = {
  id: string;
  name?: string;
  duration: "once" | "repeating" | "forever";
  duration_in_months?: number;
  percent_off?: number;
  amount_off?: number;
  currency?: string;
  metadata: Record<string, string>;
};

/**
 * Limio's words, as its UI and docs use them (the API's exact enum is not public, see
 * reference/limio-model.md §7): anything else is refused by name rather than guessed.
 */
export const DISCOUNT_TYPES: Record<string, "percentage" | "amount"> = {
  percentage: "percentage",
  percent: "percentage",
  amount: "amount",
  fixed: "amount",
  fixed_amount: "amount",
};
type DurationKind = "once" | "forever" | "periods" | "months" | "years";
export const DURATION_TYPES: Record<string, DurationKind> = {
  once: "once",
  one_time: "once",
  forever: "forever",
  indefinite: "forever",
  billing_periods: "periods",
  billing_period: "periods",
  periods: "periods",
  period: "periods",
  months: "months",
  month: "months",
  years: "years",
  year: "years",
};

const BASE = "orderDiscount.discountOverrides";
/** Stripe: coupon `name` at most 40 characters; repeating coupons up to 36 months is ample for Limio. */
const COUPON_NAME_MAX = 40;
export const MAX_DISCOUNT_MONTHS = 120;

/** One of Limio's words (any case), or a refusal listing them. */
function limioWord<T>(words: Record<string, T>, value: string | undefined, path: string): T {
  const meaning = value === undefined ? undefined : words[value.trim().toLowerCase()];
  if (meaning === undefined) {
    return refuse(path, `${JSON.stringify(value)} is not one of ${Object.keys(words).join(", ")}`);
  }
  return meaning;
}

function positiveInteger(value: unknown, path: string): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n <= 0) {
    return refuse(path, `expected a positive whole number, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Percent with at most two decimals, 0 < p ≤ 100 (Stripe's `percent_off`). */
function percentOff(value: unknown): number {
  const path = `${BASE}.percentageDiscount`;
  if (value === undefined || value === null || value === "")
    return refuse(path, "required for a percentage discount");
  const text = String(value).trim();
  if (!/^\d+(\.\d{1,2})?$/.test(text))
    return refuse(path, `'${text}' is not a percentage with at most 2 decimals`);
  const p = Number(text);
  if (p <= 0 || p > 100) return refuse(path, `${p}% is outside (0, 100]`);
  return p;
}

/** The billing interval in months, or undefined for day/week billing. */
function intervalMonths(r: StripeRecurring): number | undefined {
  if (r.interval === "month") return r.interval_count;
  if (r.interval === "year") return 12 * r.interval_count;
  return undefined;
}

/**
 * Stripe counts repeating coupons in months from redemption and discounts every invoice
 * created while the discount lasts, so "N periods" is N × the interval in months. Month-less
 * billing (days, weeks) and durations that end inside a billing period cannot be expressed.
 */
function couponDuration(
  overrides: NonNullable<LimioOrderDiscount["discountOverrides"]>,
  billing: StripeRecurring,
): Pick<StripeCouponCreateParams, "duration" | "duration_in_months"> {
  const kind = limioWord(DURATION_TYPES, overrides.durationType, `${BASE}.durationType`);
  if (kind === "once" || kind === "forever") return { duration: kind };
  const length = positiveInteger(overrides.durationLength, `${BASE}.durationLength`);
  const perInterval = intervalMonths(billing);
  if (perInterval === undefined) {
    return refuse(
      `${BASE}.durationType`,
      `a discount for ${length} ${kind} cannot be expressed on ${billing.interval}ly billing: Stripe counts repeating coupons in months`,
    );
  }
  const months = kind === "periods" ? length * perInterval : kind === "years" ? 12 * length : length;
  if (months % perInterval !== 0) {
    return refuse(
      `${BASE}.durationLength`,
      `${length} ${kind} ends inside a ${perInterval}-month billing period: Stripe would discount that whole invoice`,
    );
  }
  if (months > MAX_DISCOUNT_MONTHS) {
    return refuse(`${BASE}.durationLength`, `${months} months is over ${MAX_DISCOUNT_MONTHS}; use forever`);
  }
  return { duration: "repeating", duration_in_months: months };
}

/**
 * The coupon for an order's discount, on a subscription billed in `currency` every `interval`.
 * `coupon.id` is `limio-<hash of the definition>`: same name, value and duration → same id.
 */
export function couponForDiscount(
  discount: LimioOrderDiscount,
  billing: { currency: string; recurring: StripeRecurring },
): StripeCouponCreateParams {
  const o = discount.discountOverrides;
  if (!o) return refuse(`${BASE}`, "required: the discount's type, value and duration");
  const type = limioWord(DISCOUNT_TYPES, o.discountType, `${BASE}.discountType`);
  let value: Pick<StripeCouponCreateParams, "percent_off" | "amount_off" | "currency">;
  if (type === "percentage") {
    if (o.amountDiscount !== undefined && o.amountDiscount !== "") {
      refuse(`${BASE}.amountDiscount`, "a percentage discount cannot also carry an amount");
    }
    value = { percent_off: percentOff(o.percentageDiscount) };
  } else {
    if (o.percentageDiscount !== undefined && o.percentageDiscount !== "") {
      refuse(`${BASE}.percentageDiscount`, "an amount discount cannot also carry a percentage");
    }
    if (!o.currency) return refuse(`${BASE}.currency`, "required for an amount discount");
    const currency = o.currency.trim().toUpperCase();
    if (currency !== billing.currency.toUpperCase()) {
      return refuse(
        `${BASE}.currency`,
        `${currency} differs from the subscription's currency ${billing.currency.toUpperCase()}`,
      );
    }
    if (o.amountDiscount === undefined || o.amountDiscount === "") {
      return refuse(`${BASE}.amountDiscount`, "required for an amount discount");
    }
    let amount: number;
    try {
      amount = toMinorUnits(o.amountDiscount, currency);
    } catch (e) {
      return refuse(`${BASE}.amountDiscount`, (e as Error).message);
    }
    if (amount <= 0) return refuse(`${BASE}.amountDiscount`, "must be more than zero");
    value = { amount_off: amount, currency: currency.toLowerCase() };
  }
  const duration = couponDuration(o, billing.recurring);
  const name = discount.name?.trim().slice(0, COUPON_NAME_MAX) || undefined;
  const definition = { name: name ?? null, ...value, ...duration };
  const id = `limio-${fnv1a64(JSON.stringify(definition))}`;
  return {
    id,
    ...(name ? { name } : {}),
    ...duration,
    ...value,
    metadata: { limio_discount: "orderDiscount", ...(name ? { limio_discount_name: name } : {}) },
  };
}

/**
 * What the coupon takes off an invoice whose discountable lines are `lines` (minor units). Stripe
 * rounds a percentage per line, half up; an amount is capped at what the lines add up to.
 */
export function discountOff(
  coupon: Pick<StripeCouponCreateParams, "percent_off" | "amount_off">,
  lines: readonly number[],
): number {
  if (coupon.percent_off !== undefined) {
    // In hundredths of a percent, so the arithmetic stays in integers.
    const basisPoints = Math.round(coupon.percent_off * 100);
    return lines.reduce((sum, line) => {
      const n = line * basisPoints;
      const q = Math.floor(n / 10_000);
      return sum + (2 * (n - q * 10_000) >= 10_000 ? q + 1 : q);
    }, 0);
  }
  const total = lines.reduce((a, b) => a + b, 0);
  return Math.min(coupon.amount_off ?? 0, total);
}
