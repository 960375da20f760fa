import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { findOffer, parseCatalog } from "../catalog.ts";
import { toMinorUnits } from "../rules/money.ts";
import { planNewOrder } from "../rules/new-order-plan.ts";
import { refusalOf } from "../rules/refusal.ts";
import { ALL_FEATURES } from "./field-rules.ts";
import { type LimioNewOrder, parseLimioOrder } from "./parse-limio-order.ts";

/**
 * The real Limio shop order: the shape Limio's own front-end code submits (innovate42/
 * saas-demo-components, order-confirmation-custom/components/helpers.js: offer snapshot, add-on,
 * userDetails, tracking, Limio's order_reference / sub_reference, total), as a Stripe tenant
 * sends it: concrete prices instead of Zuora's external ones, a Stripe payment, example.com
 * contact data, and an orderDiscount in the Orders API's shape. Its offers are priced in
 * shop-catalog.json. It must either bill exactly its `total` or be refused naming the field.
 */
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../../../test/fixtures/limio/${name}`, import.meta.url), "utf8"));
const shopOrder = fixture("shop-order-real.json") as Record<string, unknown>;
const catalog = (() => {
  const r = parseCatalog(fixture("shop-catalog.json"));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.catalog;
})();
const now = new Date("2026-12-01T10:00:00Z");

describe("the real Limio shop order", () => {
  it("is accepted with the writer's features: every field of it applied or kept", () => {
    expect(parseLimioOrder(shopOrder, { now })).toMatchObject({ ok: true });
  });

  it("once the writer applies add-ons and discounts, its plan bills exactly its total today", () => {
    const parsed = parseLimioOrder(shopOrder, { now, features: ALL_FEATURES });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const order = parsed.order as LimioNewOrder;
    const plan = planNewOrder({ order, findOffer: (id) => findOffer(catalog, id), now });
    const total = order.total as { amount: string; currency: string };
    expect(plan.amountDueToday).toBe(toMinorUnits(total.amount, total.currency));
    expect(plan.amountDueToday).toBe(112_500); // ($1,000 seat + $250 add-on) − 10% once
    expect(plan.items.map((c) => [c.path, c.price.unit_amount, c.price.recurring])).toEqual([
      ["orderItems.0", 100_000, { interval: "year", interval_count: 1 }],
      ["orderItems.0.addOns.0", 25_000, { interval: "year", interval_count: 1 }],
    ]);
    expect(plan.coupon).toMatchObject({ percent_off: 10, duration: "once", name: "Launch offer 10%" });
    expect([plan.term, plan.autoRenew, plan.trialEnd, plan.cancelAt]).toEqual([
      { length: 1, type: "years" },
      true,
      undefined,
      undefined,
    ]);
    // Limio's own references and the shop's state are kept on the order, not lost.
    expect(order).toMatchObject({
      order_reference: "2I2IG4P6R7O0",
      sub_reference: "6BD2OFB0JIE0",
      tracking: { campaign: "/pages2/Pricing Page" },
      customerDetails: { marketingPrefs: {} },
    });
  });

  it("with any other total, the plan is refused naming total: never applied with a different amount", () => {
    const parsed = parseLimioOrder(
      { ...shopOrder, total: { amount: "1250.00", currency: "USD" } },
      { now, features: ALL_FEATURES },
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const refusal = refusalOf(() =>
      planNewOrder({ order: parsed.order as LimioNewOrder, findOffer: (id) => findOffer(catalog, id), now }),
    );
    expect(refusal?.path).toBe("total");
    expect(refusal?.message).toBe(
      "total: the order's total 1250.00 USD differs from what Stripe would bill today, 1125.00 USD",
    );
  });
});
