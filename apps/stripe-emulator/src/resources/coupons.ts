import type Stripe from "stripe";
import { type Call, paramsOf, type Route } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { invalid, missingParam, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { int, mergeMetadata, metadata, oneOf, requireStr, str } from "../http/params.ts";
import type { Stored } from "../state.ts";

/**
 * Coupons (docs.stripe.com/api/coupons/create): a caller-chosen or generated id, exactly one of
 * `percent_off` (0 < p ≤ 100) or `amount_off` (a positive integer, with its `currency`), a
 * `duration` (default `once`; `repeating` needs `duration_in_months`). Only `name` and `metadata`
 * can change afterwards. Deleting a coupon keeps the discounts already redeemed from it.
 */
const DURATIONS = ["forever", "once", "repeating"] as const;
const FIVE_YEARS = 5 * 365 * 86400;

function positiveInt(value: unknown, param: string): number | undefined {
  const n = int(value, param);
  if (n !== undefined && n <= 0) throw invalid(`Invalid ${param}: must be a positive integer.`, param);
  return n;
}

function percentOff(value: unknown): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (typeof value === "object" || !Number.isFinite(n) || n <= 0 || n > 100) {
    throw invalid(
      "Invalid percent_off: must be a number greater than 0 and less than or equal to 100.",
      "percent_off",
    );
  }
  return n;
}

function createCoupon(call: Call): Stored<"coupon"> {
  const { state } = call.emu;
  const b = paramsOf<Stripe.CouponCreateParams>(call);
  // applies_to / currency_options change which lines and currencies a discount reaches; the
  // emulator does not model them, so it refuses them rather than discount the wrong amount.
  for (const unmodelled of ["applies_to", "currency_options"] as const) {
    if (b[unmodelled] !== undefined) {
      throw invalid(`The emulator does not model coupon \`${unmodelled}\`.`, unmodelled);
    }
  }
  const id = str(b.id, "id") ?? state.randomString(8);
  if (state.get("coupon", id)) throw invalid("Coupon already exists.", "id", "resource_already_exists");
  const percent = percentOff(b.percent_off);
  const amount = positiveInt(b.amount_off, "amount_off");
  if (percent === undefined && amount === undefined) {
    throw invalid("You must pass either `percent_off` or `amount_off`.", "percent_off", "parameter_missing");
  }
  if (percent !== undefined && amount !== undefined) {
    throw invalid("You can pass only one of `percent_off` or `amount_off`.", "amount_off");
  }
  const currency = str(b.currency, "currency")?.toLowerCase();
  if (amount !== undefined && !currency) throw missingParam("currency");
  const duration = oneOf(b.duration, DURATIONS, "duration") ?? "once";
  const months = positiveInt(b.duration_in_months, "duration_in_months");
  if (duration === "repeating" && months === undefined) throw missingParam("duration_in_months");
  if (duration !== "repeating" && months !== undefined) {
    throw invalid(
      "`duration_in_months` can only be set when `duration` is `repeating`.",
      "duration_in_months",
    );
  }
  const name = str(b.name, "name") ?? null;
  if (name && name.length > 40) throw invalid("Invalid name: must be at most 40 characters long.", "name");
  const now = nowFor(call.emu, null);
  const redeemBy = int(b.redeem_by, "redeem_by");
  if (redeemBy !== undefined && (redeemBy <= now || redeemBy > now + FIVE_YEARS)) {
    throw invalid("Invalid redeem_by: must be in the future and at most 5 years from now.", "redeem_by");
  }
  const coupon: Stored<"coupon"> = {
    id,
    object: "coupon",
    amount_off: amount ?? null,
    created: now,
    currency: currency ?? null,
    duration,
    duration_in_months: months ?? null,
    livemode: false,
    max_redemptions: positiveInt(b.max_redemptions, "max_redemptions") ?? null,
    metadata: metadata(b.metadata),
    name,
    percent_off: percent ?? null,
    redeem_by: redeemBy ?? null,
    times_redeemed: 0,
    valid: true,
  };
  state.insert("coupon", coupon);
  call.emu.emit("coupon.created", coupon, { request: call.request });
  return coupon;
}

function getCoupon(call: Call, id: string, param = "id"): Stored<"coupon"> {
  const coupon = call.emu.state.get("coupon", id);
  if (!coupon) throw noSuch("coupon", id, param);
  return coupon;
}

export const couponRoutes: Route[] = [
  { method: "POST", path: "/v1/coupons", handler: createCoupon },
  { method: "GET", path: "/v1/coupons/:id", handler: (call) => getCoupon(call, call.params.id!) },
  {
    method: "POST",
    path: "/v1/coupons/:id",
    handler: (call) => {
      const coupon = getCoupon(call, call.params.id!);
      const b = paramsOf<Stripe.CouponUpdateParams>(call);
      if (b.currency_options !== undefined)
        throw invalid("The emulator does not model coupon `currency_options`.", "currency_options");
      const before = call.emu.state.render(coupon);
      if ("name" in b) {
        const name = requireStr(b.name, "name");
        if (name.length > 40) throw invalid("Invalid name: must be at most 40 characters long.", "name");
        coupon.name = name;
      }
      if ("metadata" in b) coupon.metadata = mergeMetadata(coupon.metadata, b.metadata);
      call.emu.emit("coupon.updated", coupon, { request: call.request, previous: before });
      return coupon;
    },
  },
  {
    method: "DELETE",
    path: "/v1/coupons/:id",
    handler: (call) => {
      const coupon = getCoupon(call, call.params.id!);
      // Discounts keep a copy of their coupon's terms, so deleting it changes no customer's price.
      call.emu.state.remove("coupon", coupon.id);
      call.emu.emit("coupon.deleted", coupon, { request: call.request });
      return { id: coupon.id, object: "coupon", deleted: true };
    },
  },
  {
    method: "GET",
    path: "/v1/coupons",
    handler: (call) =>
      paginate(call.emu.state.all("coupon"), call.body, "/v1/coupons", (o) => call.emu.state.render(o)),
  },
];
