import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { useHarness } from "../../test/contract-harness.ts";

const t = useHarness();

const refusal = (promise: Promise<unknown>) =>
  promise.then(() => null).catch((e) => e as Stripe.errors.StripeError);

// docs.stripe.com/api/coupons/create, /retrieve, /update, /delete, /list.
describe("coupons", () => {
  it("creates a coupon under the caller's id, retrieves, lists, renames and deletes it", async () => {
    const coupon = await t.stripe.coupons.create({
      id: "limio-25pct-3m",
      percent_off: 25,
      duration: "repeating",
      duration_in_months: 3,
      name: "25% off for 3 months",
      metadata: { source: "limio" },
    });
    expect(coupon).toMatchObject({
      id: "limio-25pct-3m",
      object: "coupon",
      percent_off: 25,
      amount_off: null,
      currency: null,
      duration: "repeating",
      duration_in_months: 3,
      name: "25% off for 3 months",
      metadata: { source: "limio" },
      times_redeemed: 0,
      valid: true,
      livemode: false,
    });
    expect(await t.stripe.coupons.retrieve(coupon.id)).toEqual(coupon);
    const fixed = await t.stripe.coupons.create({ amount_off: 500, currency: "USD", duration: "forever" });
    expect(fixed).toMatchObject({
      amount_off: 500,
      currency: "usd",
      duration: "forever",
      duration_in_months: null,
    });
    expect((await t.stripe.coupons.list()).data.map((c) => c.id)).toEqual([fixed.id, coupon.id]);

    const renamed = await t.stripe.coupons.update(coupon.id, { name: "Spring offer", metadata: { k: "v" } });
    expect(renamed).toMatchObject({
      name: "Spring offer",
      metadata: { source: "limio", k: "v" },
      percent_off: 25,
    });

    expect(await t.stripe.coupons.del(coupon.id)).toEqual({ id: coupon.id, object: "coupon", deleted: true });
    const gone = await refusal(t.stripe.coupons.retrieve(coupon.id));
    expect(gone).toMatchObject({ statusCode: 404, code: "resource_missing", param: "id" });
  });

  it("answers a taken id with resource_already_exists and keeps the first coupon", async () => {
    await t.stripe.coupons.create({ id: "TAKEN", percent_off: 10 });
    const error = await refusal(t.stripe.coupons.create({ id: "TAKEN", amount_off: 100, currency: "usd" }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 400, code: "resource_already_exists", param: "id" });
    expect(await t.stripe.coupons.retrieve("TAKEN")).toMatchObject({ percent_off: 10, amount_off: null });
  });

  it('defaults duration to once (docs: "Defaults to `once`")', async () => {
    expect(await t.stripe.coupons.create({ percent_off: 5 })).toMatchObject({
      duration: "once",
      duration_in_months: null,
    });
  });

  it("refuses what Stripe refuses, naming the parameter, and creates nothing", async () => {
    const cases: [Stripe.CouponCreateParams, string][] = [
      [{ duration: "forever" }, "percent_off"], // one of percent_off / amount_off is required
      [{ percent_off: 10, amount_off: 100, currency: "usd" }, "amount_off"], // not both
      [{ amount_off: 100 }, "currency"], // "currency … required if amount_off is passed"
      [{ percent_off: 0 }, "percent_off"], // "A positive float larger than 0"
      [{ percent_off: 100.5 }, "percent_off"], // "smaller or equal to 100"
      [{ amount_off: -5, currency: "usd" }, "amount_off"], // "A positive integer"
      [{ percent_off: 10, duration: "repeating" }, "duration_in_months"], // required for repeating
      [{ percent_off: 10, duration: "forever", duration_in_months: 3 }, "duration_in_months"],
      [{ percent_off: 10, duration_in_months: 0, duration: "repeating" }, "duration_in_months"],
      [{ percent_off: 10, name: "x".repeat(41) }, "name"],
      // biome-ignore lint/suspicious/noExplicitAny: a duration Stripe does not take.
      [{ percent_off: 10, duration: "weekly" as any }, "duration"],
    ];
    for (const [params, param] of cases) {
      const error = await refusal(t.stripe.coupons.create(params));
      expect(error, JSON.stringify(params)).toMatchObject({ statusCode: 400, param });
    }
    expect((await t.stripe.coupons.list()).data).toHaveLength(0);
  });

  it("refuses parameters the SDK does not declare (parameter_unknown)", async () => {
    const error = await refusal(
      // biome-ignore lint/suspicious/noExplicitAny: a parameter Stripe does not take.
      t.stripe.coupons.create({ percent_off: 10, percent: 10 } as any),
    );
    expect(error).toMatchObject({ statusCode: 400, code: "parameter_unknown", param: "percent" });
  });
});
