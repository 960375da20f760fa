import type Stripe from "stripe";

/** A customer on a fresh test clock, a monthly price, and optionally a default card. */
export async function billingSetup(
  stripe: Stripe,
  options: { frozenTime?: number; card?: string; unitAmount?: number; withClock?: boolean } = {},
) {
  const frozenTime = options.frozenTime ?? Date.UTC(2026, 0, 15, 12, 0, 0) / 1000;
  const clock =
    options.withClock === false
      ? null
      : await stripe.testHelpers.testClocks.create({ frozen_time: frozenTime });
  const customer = await stripe.customers.create({
    email: `sub-${Math.random().toString(36).slice(2)}@example.com`,
    ...(clock ? { test_clock: clock.id } : {}),
  });
  const product = await stripe.products.create({ name: "Digital Monthly" });
  const price = await stripe.prices.create({
    product: product.id,
    currency: "usd",
    unit_amount: options.unitAmount ?? 1000,
    recurring: { interval: "month" },
  });
  let paymentMethod: Stripe.PaymentMethod | null = null;
  if (options.card) {
    paymentMethod = await stripe.paymentMethods.attach(options.card, { customer: customer.id });
    await stripe.customers.update(customer.id, {
      invoice_settings: { default_payment_method: paymentMethod.id },
    });
  }
  return { clock, customer, product, price, paymentMethod, frozenTime };
}
