import { type Offer, offerSchema } from "../catalog.ts";

/** Catalog offers for rule tests: GBP, one month term, on one Stripe product, unless overridden. */
export const testOffer = (id: string, charges: object[], extra: object = {}): Offer =>
  offerSchema.parse({
    id,
    name: id,
    stripeProductCode: "prod_Test01",
    term: { length: 1, type: "months" },
    charges,
    ...extra,
  });

export const monthlyCharge = (value: string, extra: object = {}) => ({
  value,
  currencyCode: "GBP",
  type: "recurring",
  trigger: "subscription_start",
  repeat_interval: 1,
  repeat_interval_type: "months",
  ...extra,
});

export const oneOffCharge = (value: string, trigger = "order_date") => ({
  value,
  currencyCode: "GBP",
  type: "one_time",
  trigger,
});
