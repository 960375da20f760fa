import type Stripe from "stripe";

/** Stripe's "now" for this subscription: its test clock's frozen time when it has one. */
export async function stripeNow(stripe: Stripe, sub: Stripe.Subscription): Promise<Date> {
  const clockId = typeof sub.test_clock === "string" ? sub.test_clock : sub.test_clock?.id;
  if (!clockId) return new Date();
  const clock = await stripe.testHelpers.testClocks.retrieve(clockId);
  return new Date(clock.frozen_time * 1000);
}
