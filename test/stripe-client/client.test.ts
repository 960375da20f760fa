// The Stripe client against the emulator (a cross-part test: packages never import an app).
import { FatalError, PermanentError, RetryableError } from "@bridge/messaging";
import { classifyStripeError, createStripeClient, routeOf, stripeFailureOf } from "@bridge/stripe-client";
import { type RunningEmulator, startEmulator } from "@bridge/stripe-emulator";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startEmulator({ rateLimitPerSecond: 1000 });
});
afterAll(async () => {
  await emulator?.stop();
});

const setFaults = (rules: unknown) =>
  fetch(`${emulator.url}/_emulator/faults`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(rules),
  });

describe("createStripeClient against the emulator", () => {
  it("talks to the configured API URL through the official SDK and counts requests by route", async () => {
    const registry = new Registry();
    const { stripe } = createStripeClient({ secretKey: "sk_test_client1", apiUrl: emulator.url, registry });
    const customer = await stripe.customers.create({ email: "ada@example.com" });
    await stripe.customers.retrieve(customer.id);
    const text = await registry.metrics();
    expect(text).toMatch(/stripe_requests_total\{method="POST",route="\/v1\/customers",status="200"\} 1/);
    expect(text).toMatch(/stripe_requests_total\{method="GET",route="\/v1\/customers\/:id",status="200"\} 1/);
  });

  it("classifies a declined card as permanent, keeping Stripe's code", async () => {
    const { stripe } = createStripeClient({ secretKey: "sk_test_client2", apiUrl: emulator.url });
    const customer = await stripe.customers.create({ email: "decline@example.com" });
    const error = await stripe.paymentMethods
      .attach("pm_card_chargeDeclined", { customer: customer.id })
      .then(() =>
        stripe.paymentIntents.create({
          amount: 500,
          currency: "gbp",
          customer: customer.id,
          payment_method: "pm_card_chargeDeclined",
          confirm: true,
        }),
      )
      .catch((caught: unknown) => caught);
    const classified = classifyStripeError(error);
    expect(classified).toBeInstanceOf(PermanentError);
    expect(stripeFailureOf(error)).toMatchObject({ type: "StripeCardError", code: "card_declined" });
  });

  it("classifies injected 429 and 500 answers as retryable once the SDK's own retries are spent", async () => {
    const { stripe } = createStripeClient({
      secretKey: "sk_test_client3",
      apiUrl: emulator.url,
      maxNetworkRetries: 0,
    });
    await setFaults({ rules: { "GET /v1/customers": { rateLimit429: 1 } } });
    const limited = await stripe.customers.list().catch((caught: unknown) => caught);
    expect(classifyStripeError(limited)).toBeInstanceOf(RetryableError);
    await setFaults({ rules: { "GET /v1/customers": { error500: 1 } } });
    const broken = await stripe.customers.list().catch((caught: unknown) => caught);
    expect(classifyStripeError(broken)).toBeInstanceOf(RetryableError);
    await setFaults({ rules: {} });
    expect((await stripe.customers.list()).object).toBe("list");
  });

  it("treats an invalid request as permanent and an unreachable API as retryable", async () => {
    const { stripe } = createStripeClient({ secretKey: "sk_test_client4", apiUrl: emulator.url });
    const missing = await stripe.customers.retrieve("cus_doesnotexist").catch((caught: unknown) => caught);
    expect(classifyStripeError(missing)).toBeInstanceOf(PermanentError);
    const offline = createStripeClient({
      secretKey: "sk_test_client5",
      apiUrl: "http://127.0.0.1:1",
      maxNetworkRetries: 0,
    });
    const down = await offline.stripe.customers.list().catch((caught: unknown) => caught);
    expect(classifyStripeError(down)).toBeInstanceOf(RetryableError);
  });

  it("treats a rejected key as fatal: no message can succeed with it", async () => {
    const response = await fetch(`${emulator.url}/v1/customers`, {
      headers: { authorization: "Bearer nope" },
    });
    expect(response.status).toBe(401);
    const { stripe } = createStripeClient({ secretKey: "sk_test_client6", apiUrl: emulator.url });
    const error = await stripe.customers.list({}, { apiKey: "bad_key" }).catch((caught: unknown) => caught);
    expect(classifyStripeError(error)).toBeInstanceOf(FatalError);
  });
});

describe("routeOf", () => {
  it("replaces Stripe ids so metric labels stay bounded", () => {
    expect(routeOf("/v1/customers/cus_Nffrfeu4ARXTr2/sources?limit=3")).toBe("/v1/customers/:id/sources");
    expect(routeOf("/v1/subscription_schedules/sub_sched_1MvQ9pLkdIwHu7ix/release")).toBe(
      "/v1/subscription_schedules/:id/release",
    );
    expect(routeOf("/v1/invoices/create_preview")).toBe("/v1/invoices/create_preview");
  });
});
