import { randomUUID } from "node:crypto";
import { createStripeClient, type Stripe } from "@bridge/stripe-client";
import { type EmulatorConfig, type RunningEmulator, startEmulator } from "@bridge/stripe-emulator";
import { Registry } from "prom-client";

/** Noon UTC of a calendar day, as a Unix timestamp (test-clock times). */
export const utc = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d, 12, 0, 0) / 1000;

export type EmulatedStripe = { emu: RunningEmulator; stripe: Stripe; registry: Registry };

/**
 * The Stripe emulator started in this process (no rate limit, fast webhook retries) and the
 * bridge's own Stripe client pointed at it, with a private metrics registry.
 */
export async function startStripe(overrides: Partial<EmulatorConfig> = {}): Promise<EmulatedStripe> {
  const emu = await startEmulator({
    rateLimitPerSecond: 0,
    webhookDelivery: { maxAttempts: 5, backoffMs: 5 },
    ...overrides,
  });
  const registry = new Registry();
  const { stripe } = createStripeClient({
    secretKey: `sk_test_kit${randomUUID().replaceAll("-", "")}`,
    apiUrl: emu.url,
    ratePerSecond: 10_000,
    maxNetworkRetries: 0,
    registry,
  });
  return { emu, stripe, registry };
}

/** A Stripe customer (optionally on a test clock) with a default card, a monthly price, a subscription. */
export async function stripeSubscription(
  stripe: Stripe,
  options: {
    frozenTime?: number;
    card?: string;
    email?: string;
    amount?: number;
    metadata?: Record<string, string>;
    idempotencyPrefix?: string;
  } = {},
) {
  const req = (step: string) =>
    options.idempotencyPrefix ? { idempotencyKey: `${options.idempotencyPrefix}:${step}` } : undefined;
  const clock = options.frozenTime
    ? await stripe.testHelpers.testClocks.create({ frozen_time: options.frozenTime })
    : null;
  const customer = await stripe.customers.create(
    {
      email: options.email ?? `jenny-${randomUUID().slice(0, 8)}@example.com`,
      name: "Jenny Rosen",
      address: { line1: "1 Limio Street", city: "London", postal_code: "EC1A 1AA", country: "GB" },
      ...(clock ? { test_clock: clock.id } : {}),
      ...(options.metadata ? { metadata: options.metadata } : {}),
    },
    req("customer"),
  );
  const product = await stripe.products.create({ name: "Digital Monthly" }, req("product"));
  const price = await stripe.prices.create(
    {
      product: product.id,
      currency: "gbp",
      unit_amount: options.amount ?? 1000,
      recurring: { interval: "month" },
    },
    req("price"),
  );
  const pm = await stripe.paymentMethods.attach(
    options.card ?? "pm_card_visa",
    { customer: customer.id },
    req("attach"),
  );
  await stripe.customers.update(
    customer.id,
    { invoice_settings: { default_payment_method: pm.id } },
    req("default-pm"),
  );
  const subscription = await stripe.subscriptions.create(
    {
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "allow_incomplete",
      ...(options.metadata ? { metadata: options.metadata } : {}),
    },
    req("subscription"),
  );
  return { clock, customer, price, product, subscription, paymentMethod: pm };
}

/** Poll a test clock until Stripe reports it ready (advance is asynchronous). */
export async function advanceClock(stripe: Stripe, clockId: string, frozenTime: number) {
  let clock = await stripe.testHelpers.testClocks.advance(clockId, { frozen_time: frozenTime });
  const deadline = Date.now() + 30_000;
  while (clock.status === "advancing") {
    if (Date.now() > deadline) throw new Error("test clock did not become ready");
    await new Promise((resolve) => setTimeout(resolve, 10));
    clock = await stripe.testHelpers.testClocks.retrieve(clockId);
  }
  return clock;
}

/** Requests the emulator logged for `GET /v1/subscriptions/<id>`. */
export async function subscriptionFetches(
  emu: RunningEmulator,
  stripeSubscriptionId: string,
): Promise<number> {
  const res = await fetch(`${emu.url}/_emulator/requests`);
  const body = (await res.json()) as
    | { data?: { method: string; path: string }[] }
    | { method: string; path: string }[];
  const list = Array.isArray(body) ? body : (body.data ?? []);
  return list.filter(
    (r) => r.method === "GET" && r.path.split("?")[0] === `/v1/subscriptions/${stripeSubscriptionId}`,
  ).length;
}
