import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { useHarness } from "../../test/contract-harness.ts";
import { StripeApiError } from "../http/errors.ts";
import { billingSetup } from "./fixtures.ts";

const t = useHarness();

// docs.stripe.com/api/errors: invalid_request_error "arises when your request has invalid
// parameters"; `param` names the parameter, nested ones with brackets.
describe("parameters at every depth", () => {
  it("refuses a value outside a nested enum, naming it with its bracket path", async () => {
    const { customer, price } = await billingSetup(t.stripe, { withClock: false, card: "pm_card_visa" });
    const error = await t.stripe.subscriptions
      .create({
        customer: customer.id,
        items: [{ price: price.id }],
        // biome-ignore lint/suspicious/noExplicitAny: a value Stripe does not take.
        payment_settings: { save_default_payment_method: "always" as any },
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.param).toBe("payment_settings[save_default_payment_method]");
    expect(error.message).toContain("off, or on_subscription");
    expect((await t.stripe.subscriptions.list({ customer: customer.id, status: "all" })).data).toHaveLength(
      0,
    );
  });

  it("refuses an unknown nested key with parameter_unknown, also inside arrays", async () => {
    const { customer, price } = await billingSetup(t.stripe, { withClock: false, card: "pm_card_visa" });
    for (const [params, param] of [
      [
        { payment_settings: { save_default_payment_methods: "off" } },
        "payment_settings[save_default_payment_methods]",
      ],
      [{ items: [{ price: price.id, qty: 2 }] }, "items[0][qty]"],
    ] as const) {
      const error = await t.stripe.subscriptions
        // biome-ignore lint/suspicious/noExplicitAny: parameters Stripe does not take.
        .create({ customer: customer.id, items: [{ price: price.id }], ...(params as any) })
        .catch((e) => e);
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error.code).toBe("parameter_unknown");
      expect(error.param).toBe(param);
    }
  });

  it("refuses a bad top-level enum and accepts every documented value", async () => {
    const { customer, price } = await billingSetup(t.stripe, { withClock: false, card: "pm_card_visa" });
    const error = await t.stripe.subscriptions
      // biome-ignore lint/suspicious/noExplicitAny: a value Stripe does not take.
      .create({ customer: customer.id, items: [{ price: price.id }], collection_method: "by_hand" as any })
      .catch((e) => e);
    expect(error.param).toBe("collection_method");
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, metadata: { any_key: "free" } }],
      payment_settings: { save_default_payment_method: "on_subscription" },
      expand: ["latest_invoice"],
    });
    expect(sub.payment_settings?.save_default_payment_method).toBe("on_subscription");
  });

  it("validates list query parameters too", async () => {
    // biome-ignore lint/suspicious/noExplicitAny: a filter Stripe does not take.
    const error = await t.stripe.customers.list({ emails: "x@example.com" } as any).catch((e) => e);
    expect(error.code).toBe("parameter_unknown");
    expect(error.param).toBe("emails");
  });
});

describe("error codes", () => {
  it("the emulator cannot answer a code outside Stripe's published list", () => {
    expect(
      () =>
        new StripeApiError(400, {
          type: "invalid_request_error",
          message: "x",
          code: "lookup_key_already_exists",
        }),
    ).toThrow(/not in Stripe's published list/);
    expect(
      new StripeApiError(400, { type: "invalid_request_error", message: "x", code: "parameter_unknown" }).body
        .code,
    ).toBe("parameter_unknown");
  });

  // Stripe answers a taken lookup key with 400 invalid_request_error, `param: lookup_key` and the
  // message "A price (`price_…`) already uses that lookup key." (no code); `transfer_lookup_key`
  // moves the key (docs.stripe.com/api/prices/create#create_price-transfer_lookup_key).
  it("a taken price lookup_key: 400 on param lookup_key, no invented code; transfer_lookup_key moves it", async () => {
    const product = await t.stripe.products.create({ name: "Lookup" });
    const first = await t.stripe.prices.create({
      product: product.id,
      currency: "gbp",
      unit_amount: 999,
      lookup_key: "k",
    });
    const error = await t.stripe.prices
      .create({ product: product.id, currency: "gbp", unit_amount: 999, lookup_key: "k" })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe("lookup_key");
    expect(error.code).toBeUndefined();
    expect(error.message).toBe(`A price (\`${first.id}\`) already uses that lookup key.`);
    const moved = await t.stripe.prices.create({
      product: product.id,
      currency: "gbp",
      unit_amount: 1099,
      lookup_key: "k",
      transfer_lookup_key: true,
    });
    expect((await t.stripe.prices.list({ lookup_keys: ["k"] })).data.map((p) => p.id)).toEqual([moved.id]);
  });
});

// docs.stripe.com/api/customers/list#list_customers-email: "A case-sensitive filter on the list
// based on the customer's email field."
describe("customers.list({ email })", () => {
  it("is case-sensitive", async () => {
    const ada = await t.stripe.customers.create({ email: "Ada@Example.com" });
    expect((await t.stripe.customers.list({ email: "ada@example.com" })).data).toHaveLength(0);
    expect((await t.stripe.customers.list({ email: "Ada@Example.com" })).data.map((c) => c.id)).toEqual([
      ada.id,
    ]);
  });
});

// maxLength in POST /v1/customers and /v1/customers/{customer} of Stripe's OpenAPI description.
describe("customer string lengths", () => {
  it("refuses a phone over 20, a name over 256 and an email over 512 characters, on create and update", async () => {
    const fields = { phone: 20, name: 256, email: 512 } as const;
    const customer = await t.stripe.customers.create({ phone: "+44 20 7946 0000" });
    for (const [field, max] of Object.entries(fields)) {
      const tooLong = field === "email" ? `${"a".repeat(max - 11)}@example.com` : "1".repeat(max + 1);
      expect(tooLong.length).toBe(max + 1);
      const created = await t.stripe.customers.create({ [field]: tooLong }).catch((e) => e);
      expect(created).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(created).toMatchObject({ statusCode: 400, param: field });
      const updated = await t.stripe.customers.update(customer.id, { [field]: tooLong }).catch((e) => e);
      expect(updated).toMatchObject({ statusCode: 400, param: field });
      // At the limit it is taken.
      const fits = tooLong.slice(1);
      const taken = await t.stripe.customers.update(customer.id, { [field]: fits });
      expect(taken[field as keyof typeof fields]).toBe(fits);
    }
    expect((await t.stripe.customers.retrieve(customer.id)) as Stripe.Customer).toMatchObject({
      phone: "1".repeat(20),
    });
  });
});
