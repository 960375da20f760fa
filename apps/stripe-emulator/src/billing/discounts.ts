import type Stripe from "stripe";
import type { Call, Emulator } from "../context.ts";
import { invalid, noSuch } from "../http/errors.ts";
import { arr } from "../http/params.ts";
import type { Stored } from "../state.ts";
import { type Form, idOf, type RequestMeta } from "../types.ts";
import { addIntervals } from "./time.ts";

/**
 * Discounts on subscriptions (docs.stripe.com/billing/subscriptions/coupons,
 * docs.stripe.com/api/discounts/object): redeeming a coupon creates a Discount; the
 * subscription lists its id (`discounts`), each invoice applies the discounts active when it is
 * created to its discountable lines. Durations: `once` = the next invoice only (then the
 * discount is consumed and leaves the subscription), `repeating` = every invoice created before
 * `end` (= start + duration_in_months), `forever` = every invoice.
 */

/** `customer`: null in the preview of someone who is not a customer yet (`customer_details`). */
type Target = {
  customer: string | null;
  subscription: string;
  currency: string;
  start: number;
  param: string;
};

/** A `discounts` parameter as a form body reads (`""` clears them). */
type Discounts = readonly Form<Stripe.SubscriptionCreateParams.Discount>[] | "" | null | undefined;

/**
 * The coupons a `discounts[]` parameter (`[{ coupon }]`) redeems, checked but not yet redeemed
 * (a request refused later must not use up a redemption). `""` or `[]` = none.
 */
export function couponsToRedeem(
  call: Call,
  raw: Discounts,
  target: Omit<Target, "subscription">,
): Stored<"coupon">[] {
  const { state } = call.emu;
  // A form body cannot carry null (the SDK's type allows it): read it as none.
  const entries = arr(raw ?? undefined);
  if (entries.length > 1) {
    // Stripe stacks up to 20 discounts; the order and rounding of stacked discounts are not
    // documented, so the emulator refuses more than one rather than bill a guess.
    throw invalid("The emulator models one discount per subscription.", `${target.param}[1]`);
  }
  return entries.map((entry, i) => {
    const param = `${target.param}[${i}]`;
    if (entry?.promotion_code !== undefined || entry?.discount !== undefined) {
      throw invalid(
        "The emulator redeems discounts from `coupon` only.",
        `${param}[${entry.promotion_code !== undefined ? "promotion_code" : "discount"}]`,
      );
    }
    const couponId = entry?.coupon;
    if (typeof couponId !== "string" || couponId === "")
      throw invalid(`Missing required param: ${param}[coupon].`, `${param}[coupon]`, "parameter_missing");
    const coupon = state.get("coupon", couponId);
    if (!coupon) throw noSuch("coupon", couponId, `${param}[coupon]`);
    const exhausted = coupon.max_redemptions !== null && coupon.times_redeemed >= coupon.max_redemptions;
    const expired = coupon.redeem_by !== null && coupon.redeem_by <= target.start;
    if (exhausted || expired) {
      throw invalid(`Coupon expired: ${coupon.id}`, `${param}[coupon]`, "coupon_expired");
    }
    if (coupon.amount_off !== null && coupon.currency !== target.currency) {
      throw invalid(
        `The coupon ${coupon.id} is in ${coupon.currency}, but the subscription is billed in ${target.currency}.`,
        `${param}[coupon]`,
      );
    }
    return coupon;
  });
}

/**
 * The coupons of a new subscription's `discounts`. Which invoice a `once` coupon lands on when
 * the first one is a $0 trial invoice is not documented: the emulator refuses the pair rather
 * than guess what the customer pays.
 */
export function couponsForNewSubscription(
  call: Call,
  raw: Discounts,
  target: { customer: string | null; currency: string; start: number; trial: boolean },
): Stored<"coupon">[] {
  const coupons = couponsToRedeem(call, raw, { ...target, param: "discounts" });
  if (target.trial && coupons.some((c) => c.duration === "once")) {
    throw invalid(
      "The emulator does not model a `once` coupon on a subscription that starts with a trial.",
      "discounts[0][coupon]",
    );
  }
  return coupons;
}

/** A Discount as it would be redeemed from `coupon` (the coupon's terms copied in). */
export function discountFrom(
  coupon: Stored<"coupon">,
  target: Omit<Target, "param">,
  id: string,
): Stored<"discount"> {
  return {
    id,
    object: "discount",
    checkout_session: null,
    customer: target.customer,
    customer_account: null,
    end:
      coupon.duration === "repeating" && coupon.duration_in_months !== null
        ? addIntervals(target.start, "month", coupon.duration_in_months)
        : null,
    invoice: null,
    invoice_item: null,
    promotion_code: null,
    source: { coupon: coupon.id, type: "coupon" },
    start: target.start,
    subscription: target.subscription,
    subscription_item: null,
    // The coupon's terms as redeemed: deleting the coupon later changes no price.
    _coupon: structuredClone(coupon),
  };
}

/** Redeem checked coupons into stored Discounts (`customer.discount.created`); returns their ids. */
export function redeem(
  emu: Emulator,
  coupons: Stored<"coupon">[],
  target: Omit<Target, "param">,
  request: RequestMeta,
): string[] {
  return coupons.map((coupon) => {
    coupon.times_redeemed += 1;
    if (coupon.max_redemptions !== null && coupon.times_redeemed >= coupon.max_redemptions)
      coupon.valid = false;
    const discount = emu.state.insert("discount", discountFrom(coupon, target, emu.state.newId("di")));
    emu.emit("customer.discount.created", discount, { request });
    return discount.id;
  });
}

/** The subscription's discounts that apply to an invoice created at `at` (repeating ones end at `end`). */
export function activeDiscounts(
  emu: Emulator,
  sub: Stored<"subscription"> | null,
  at: number,
): Stored<"discount">[] {
  if (!sub) return [];
  return discountIds(sub)
    .map((id) => emu.state.get("discount", id))
    .filter((d): d is Stored<"discount"> => d !== undefined && (d.end === null || at < d.end));
}

/** The ids of the discounts an object lists (the emulator stores references as ids). */
function discountIds(obj: Stored<"subscription"> | Stored<"invoice">): string[] {
  const refs: readonly (string | { id: string })[] = obj.discounts ?? [];
  return refs.map(idOf);
}

/** Split `total` over `weights` in proportion, rounding so the parts add up to `total` exactly. */
function allocate(total: number, weights: number[]): number[] {
  const sum = weights.reduce((s, w) => s + w, 0);
  if (sum <= 0 || total <= 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const parts = exact.map(Math.floor);
  let left = total - parts.reduce((s, p) => s + p, 0);
  const order = exact
    .map((e, i) => ({ i, frac: e - Math.floor(e) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    parts[i]! += 1;
    left -= 1;
  }
  return parts;
}

type DiscountedAmounts = {
  /** Per line: `{ amount, discount }` for each applied discount. */
  perLine: { amount: number; discount: string }[][];
  totals: { amount: number; discount: string }[];
};

/**
 * What each discount takes off each line. A coupon's `percent_off` / `amount_off` is "taken off
 * the subtotal" of the invoice (docs.stripe.com/api/coupons/object): the discount is computed on
 * the sum of the discountable lines (percentages rounded to the nearest minor unit) and split
 * over them in proportion to their amounts; `amount_off` never takes more than that sum.
 * Non-discountable lines (prorations, negative lines, `discountable: false` items) keep their amount.
 */
export function discountAmounts(
  discounts: Stored<"discount">[],
  lines: { amount: number; discountable: boolean }[],
): DiscountedAmounts {
  const remaining = lines.map((l) => (l.discountable && l.amount > 0 ? l.amount : 0));
  const perLine: DiscountedAmounts["perLine"] = lines.map(() => []);
  const totals: DiscountedAmounts["totals"] = [];
  for (const discount of discounts) {
    const coupon = discount._coupon;
    const base = remaining.reduce((s, a) => s + a, 0);
    const total =
      coupon.percent_off !== null
        ? Math.round((base * coupon.percent_off) / 100)
        : Math.min(coupon.amount_off ?? 0, base);
    const parts = allocate(total, remaining);
    parts.forEach((part, i) => {
      remaining[i]! -= part;
      if (lines[i]!.discountable) perLine[i]!.push({ amount: part, discount: discount.id });
    });
    totals.push({ amount: total, discount: discount.id });
  }
  return { perLine, totals };
}

/**
 * After an invoice is created: a `once` discount that applied to it is used up, and a
 * `repeating` one past its `end` has ended; both leave the subscription (Stripe removes a
 * discount when it ends: `customer.discount.deleted`).
 */
export function settleDiscounts(
  emu: Emulator,
  sub: Stored<"subscription">,
  invoice: Stored<"invoice"> | null,
  at: number,
  request: RequestMeta,
): void {
  const applied = new Set<string>(invoice ? discountIds(invoice) : []);
  const keep: string[] = [];
  for (const id of discountIds(sub)) {
    const discount = emu.state.get("discount", id);
    if (!discount) continue;
    const usedUp = discount._coupon.duration === "once" && applied.has(id);
    const ended = discount.end !== null && discount.end <= at;
    if (usedUp || ended) emu.emit("customer.discount.deleted", discount, { request });
    else keep.push(id);
  }
  sub.discounts = keep;
}

/**
 * Whether the subscription's current period was billed with a discount (an invoice line of
 * this period, not a proration, with a discount amount).
 */
function currentPeriodDiscounted(emu: Emulator, subId: string, periodStart: number): boolean {
  return emu.state
    .values("invoice")
    .some(
      (invoice) =>
        invoice.parent?.subscription_details?.subscription === subId &&
        invoice.status !== "void" &&
        invoice.lines.data.some(
          (line) =>
            line.period.start === periodStart &&
            !line.parent.subscription_item_details.proration &&
            (line.discount_amounts ?? []).some((d) => d.amount > 0),
        ),
    );
}

/**
 * Prorations on a discounted subscription: Stripe computes them with the discounts applied
 * ("any existing discounts are applied when proration is calculated. You can't discount
 * proration line items further", docs.stripe.com/billing/subscriptions/coupons), and in
 * flexible billing mode credits what the period's invoice actually charged. How a discount's
 * rounding and an `amount_off` split over a partial period is not documented, so the emulator
 * refuses a change that would prorate a discounted period rather than bill a guess.
 */
export function refuseDiscountedProration(
  emu: Emulator,
  sub: Stored<"subscription">,
  at: number,
  periodStart: number,
): void {
  if (activeDiscounts(emu, sub, at).length > 0 || currentPeriodDiscounted(emu, sub.id, periodStart)) {
    throw invalid(
      "The emulator does not model prorations on a discounted subscription; pass proration_behavior=none or remove the discount first.",
      "proration_behavior",
    );
  }
}
