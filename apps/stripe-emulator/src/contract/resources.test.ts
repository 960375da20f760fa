import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { advanceClock, type Harness, startHarness } from "../../test/contract-harness.ts";

let h: Harness;
let stripe: Stripe;
beforeAll(async () => {
  h = await startHarness();
  stripe = h.stripe;
});
afterAll(async () => {
  await h.stop();
});
beforeEach(async () => {
  await h.http("POST", "/_emulator/reset");
});

describe("customers", () => {
  it("creates, retrieves, updates (address, shipping, metadata merge) and deletes", async () => {
    const created = await stripe.customers.create({
      email: "jenny@example.com",
      name: "Jenny Rosen",
      phone: "+441234567890",
      address: { line1: "1 High St", city: "London", postal_code: "N1 1AA", country: "GB" },
      metadata: { limio_customer_id: "c-1", keep: "yes" },
    });
    expect(created.id).toMatch(/^cus_[A-Za-z0-9]{14,}$/);
    expect(created.object).toBe("customer");
    expect(created.address).toEqual({
      city: "London",
      country: "GB",
      line1: "1 High St",
      line2: null,
      postal_code: "N1 1AA",
      state: null,
    });
    expect(created.livemode).toBe(false);

    const updated = await stripe.customers.update(created.id, {
      shipping: { name: "Jenny R", address: { line1: "2 Low St", city: "Leeds", country: "GB" } },
      metadata: { limio_customer_id: "", extra: "1" },
    });
    expect(updated.shipping?.name).toBe("Jenny R");
    expect(updated.shipping?.address?.line1).toBe("2 Low St");
    expect(updated.metadata).toEqual({ keep: "yes", extra: "1" });
    expect((await stripe.customers.retrieve(created.id)) as Stripe.Customer).toMatchObject({
      name: "Jenny Rosen",
    });

    const deleted = await stripe.customers.del(created.id);
    expect(deleted).toMatchObject({ id: created.id, object: "customer", deleted: true });
    const again = (await stripe.customers.retrieve(created.id)) as Stripe.DeletedCustomer;
    expect(again.deleted).toBe(true);
  });

  it("enforces Stripe's metadata limits (40-char keys, 500-char values, 50 keys)", async () => {
    const longKey = await stripe.customers.create({ metadata: { ["k".repeat(41)]: "v" } }).catch((e) => e);
    expect(longKey.statusCode).toBe(400);
    const longValue = await stripe.customers.create({ metadata: { k: "v".repeat(501) } }).catch((e) => e);
    expect(longValue.statusCode).toBe(400);
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, "v"]));
    const tooMany = await stripe.customers.create({ metadata: many }).catch((e) => e);
    expect(tooMany.param).toBe("metadata");
    const ok = await stripe.customers.create({ metadata: { ["k".repeat(40)]: "v".repeat(500) } });
    expect(Object.keys(ok.metadata)).toHaveLength(1);
  });

  it("lists by exact email, case-sensitive (docs.stripe.com/api/customers/list#list_customers-email)", async () => {
    await stripe.customers.create({ email: "a@example.com" });
    const b = await stripe.customers.create({ email: "b@example.com" });
    const list = await stripe.customers.list({ email: "b@example.com" });
    expect(list.data.map((c) => c.id)).toEqual([b.id]);
    expect((await stripe.customers.list({ email: "B@example.com" })).data).toEqual([]);
  });

  it("searches as docs.stripe.com/search documents: a minute behind writes, words in order ignoring case, typed fields", async () => {
    const start = Date.UTC(2026, 0, 15, 12, 0, 0) / 1000;
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: start });
    const on = { test_clock: clock.id };
    const b = await stripe.customers.create({ email: "B@Example.com", metadata: { tier: "Gold" }, ...on });
    const other = await stripe.customers.create({ email: "x.b@example.com", ...on });
    await stripe.customers.create({ email: "a@example.com", ...on });
    // "Data is searchable in under 1 minute" (#data-freshness): not at once.
    expect((await stripe.customers.search({ query: "email:'b@example.com'" })).data).toEqual([]);
    await advanceClock(stripe, clock.id, start + 60);

    const search = await stripe.customers.search({ query: "email:'b@example.com'" });
    expect(search.object).toBe("search_result");
    // A string field's exact match: every word of the query, in order, ignoring case.
    expect(search.data.map((c) => c.id).sort()).toEqual([b.id, other.id].sort());
    expect(
      (await stripe.customers.search({ query: 'email:"x.b@example.com"' })).data.map((c) => c.id),
    ).toEqual([other.id]);
    // A token (metadata) matches its whole value, ignoring case; clauses join with AND / OR, `-` negates.
    expect(
      (await stripe.customers.search({ query: "metadata['tier']:'gold'" })).data.map((c) => c.id),
    ).toEqual([b.id]);
    expect((await stripe.customers.search({ query: "metadata['tier']:'gol'" })).data).toEqual([]);
    const and = await stripe.customers.search({ query: "email:'b@example.com' AND -email~'x.b'" });
    expect(and.data.map((c) => c.id)).toEqual([b.id]);
    const or = await stripe.customers.search({ query: "email:'a@example.com' OR metadata['tier']:'gold'" });
    expect(or.data).toHaveLength(2);
    // Refused: unsupported fields, a substring under 3 characters, `~` on a token, AND mixed with OR, unquoted strings.
    for (const query of [
      "address:'x'",
      "email~'ab'",
      "metadata['tier']~'gold'",
      "email:'a' AND name:'b' OR phone:'c'",
      "email:b@example.com",
    ]) {
      const error = await stripe.customers.search({ query }).catch((e) => e);
      expect(error, query).toMatchObject({ statusCode: 400, param: "query" });
    }
  });

  it("sets invoice_settings.default_payment_method only to an attached method", async () => {
    const customer = await stripe.customers.create({ email: "pm@example.com" });
    const loose = await stripe.paymentMethods.create({ type: "card", card: { token: "tok_visa" } });
    const error = await stripe.customers
      .update(customer.id, { invoice_settings: { default_payment_method: loose.id } })
      .catch((e) => e);
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe("invoice_settings[default_payment_method]");
    const pm = await stripe.paymentMethods.attach(loose.id, { customer: customer.id });
    const updated = await stripe.customers.update(customer.id, {
      invoice_settings: { default_payment_method: pm.id },
    });
    expect(updated.invoice_settings.default_payment_method).toBe(pm.id);
    const expanded = await stripe.customers.retrieve(customer.id, {
      expand: ["invoice_settings.default_payment_method"],
    });
    const defaultPm = (expanded as Stripe.Customer).invoice_settings
      .default_payment_method as Stripe.PaymentMethod;
    expect(defaultPm.card?.last4).toBe("4242");
  });
});

describe("products and prices", () => {
  it("accepts custom product ids and updates products", async () => {
    const product = await stripe.products.create({ id: "limio_offer_gold", name: "Gold" });
    expect(product.id).toBe("limio_offer_gold");
    const dup = await stripe.products.create({ id: "limio_offer_gold", name: "Gold" }).catch((e) => e);
    expect(dup.statusCode).toBe(400);
    const updated = await stripe.products.update(product.id, { name: "Gold+", metadata: { a: "1" } });
    expect(updated).toMatchObject({ name: "Gold+", metadata: { a: "1" } });
  });

  it("creates recurring prices with lookup keys, refuses a taken key, transfers with transfer_lookup_key", async () => {
    const product = await stripe.products.create({ name: "Digital" });
    const p1 = await stripe.prices.create({
      product: product.id,
      currency: "gbp",
      unit_amount: 999,
      recurring: { interval: "month" },
      lookup_key: "digital_monthly",
    });
    expect(p1).toMatchObject({
      type: "recurring",
      recurring: { interval: "month", interval_count: 1, usage_type: "licensed" },
      unit_amount: 999,
    });
    const taken = await stripe.prices
      .create({
        product: product.id,
        currency: "gbp",
        unit_amount: 1099,
        recurring: { interval: "month" },
        lookup_key: "digital_monthly",
      })
      .catch((e) => e);
    expect(taken.statusCode).toBe(400);
    expect(taken.param).toBe("lookup_key");
    const p2 = await stripe.prices.create({
      product: product.id,
      currency: "gbp",
      unit_amount: 1099,
      recurring: { interval: "month" },
      lookup_key: "digital_monthly",
      transfer_lookup_key: true,
    });
    const found = await stripe.prices.list({ lookup_keys: ["digital_monthly"] });
    expect(found.data.map((p) => p.id)).toEqual([p2.id]);
    expect((await stripe.prices.retrieve(p1.id)).lookup_key).toBeNull();
    await stripe.prices.update(p1.id, { active: false });
    expect((await stripe.prices.list({ product: product.id, active: true })).data.map((p) => p.id)).toEqual([
      p2.id,
    ]);
  });
});

describe("payment methods", () => {
  it("creating a customer with a test shortcut as payment_method and default resolves both to the attached method", async () => {
    const customer = await h.stripe.customers.create({
      email: "snippet@example.com",
      payment_method: "pm_card_visa",
      invoice_settings: { default_payment_method: "pm_card_visa" },
    });
    const attached = (await h.stripe.customers.listPaymentMethods(customer.id)).data;
    expect(attached).toHaveLength(1);
    expect(attached[0]!.id).not.toBe("pm_card_visa");
    expect(customer.invoice_settings.default_payment_method).toBe(attached[0]!.id);
  });

  it("attaching a test id creates a new pm_ with card details; detach and list by customer", async () => {
    const customer = await stripe.customers.create({ email: "cards@example.com" });
    const visa = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    expect(visa.id).toMatch(/^pm_/);
    expect(visa.id).not.toBe("pm_card_visa");
    expect(visa.card).toMatchObject({ brand: "visa", last4: "4242" });
    expect(visa.card?.exp_year).toBeGreaterThan(new Date().getUTCFullYear());
    const mc = await stripe.paymentMethods.attach("pm_card_mastercard", { customer: customer.id });
    expect(mc.card).toMatchObject({ brand: "mastercard", last4: "4444" });
    const amex = await stripe.paymentMethods.attach("pm_card_amex", { customer: customer.id });
    expect(amex.card?.brand).toBe("amex");
    const listed = await stripe.customers.listPaymentMethods(customer.id);
    expect(listed.data.map((p) => p.id).sort()).toEqual([visa.id, mc.id, amex.id].sort());
    const detached = await stripe.paymentMethods.detach(mc.id);
    expect(detached.customer).toBeNull();
    expect((await stripe.paymentMethods.list({ customer: customer.id })).data).toHaveLength(2);
    expect((await stripe.paymentMethods.retrieve(visa.id)).customer).toBe(customer.id);
  });

  // docs.stripe.com/testing#declined-payments: "The cards in the previous table can't be attached
  // to a Customer object. To simulate a declined payment with a successfully attached card, use
  // the next one" (pm_card_chargeCustomerFail, "Decline after attaching").
  it("the declined-payments cards are refused on attach with their code and decline_code", async () => {
    const customer = await stripe.customers.create({ email: "decline@example.com" });
    for (const [testId, code, decline] of [
      ["pm_card_visa_chargeDeclined", "card_declined", "generic_decline"],
      ["pm_card_chargeDeclined", "card_declined", "generic_decline"],
      ["pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"],
      ["pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card"],
      ["pm_card_visa_chargeDeclinedStolenCard", "card_declined", "stolen_card"],
      ["pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"],
      ["pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc"],
      ["pm_card_chargeDeclinedProcessingError", "processing_error", "processing_error"],
      ["pm_card_visa_chargeDeclinedVelocityLimitExceeded", "card_declined", "card_velocity_exceeded"],
    ] as const) {
      const error = await stripe.paymentMethods.attach(testId, { customer: customer.id }).catch((e) => e);
      expect(error, testId).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(error.statusCode).toBe(402);
      expect(error.code).toBe(code);
      expect(error.decline_code).toBe(decline);
    }
    const viaCreate = await stripe.customers
      .create({ email: "declined-create@example.com", payment_method: "pm_card_visa_chargeDeclined" })
      .catch((e) => e);
    expect(viaCreate).toBeInstanceOf(Stripe.errors.StripeCardError);
    const listed = await stripe.customers.list({ email: "declined-create@example.com" });
    expect(listed.data).toHaveLength(0);
    expect((await stripe.paymentMethods.list({ customer: customer.id })).data).toHaveLength(0);
  });

  it("pm_card_chargeCustomerFail attaches, then every charge is declined", async () => {
    const customer = await stripe.customers.create({ email: "decline-later@example.com" });
    const pm = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", { customer: customer.id });
    expect(pm.customer).toBe(customer.id);
    const error = await stripe.paymentIntents
      .create({
        amount: 2000,
        currency: "usd",
        customer: customer.id,
        payment_method: pm.id,
        confirm: true,
        off_session: true,
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.statusCode).toBe(402);
    expect(error.code).toBe("card_declined");
    expect(error.decline_code).toBe("generic_decline");
    expect(error.payment_intent.status).toBe("requires_payment_method");
  });
});

describe("setup intents and payment intents", () => {
  it("rejects payment_method_types on create (since 2026-09-30)", async () => {
    const customer = await stripe.customers.create({});
    const error = await stripe.setupIntents
      .create({ customer: customer.id, payment_method_types: ["card"] } as Stripe.SetupIntentCreateParams)
      .catch((e) => e);
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe("payment_method_types");
  });

  it("confirms a setup intent: succeeded, method attached, setup_intent.succeeded emitted", async () => {
    const customer = await stripe.customers.create({ email: "si@example.com" });
    const si = await stripe.setupIntents.create({ customer: customer.id, usage: "off_session" });
    expect(si.status).toBe("requires_payment_method");
    expect(si.client_secret).toMatch(new RegExp(`^${si.id}_secret_`));
    const confirmed = await stripe.setupIntents.confirm(si.id, { payment_method: "pm_card_visa" });
    expect(confirmed.status).toBe("succeeded");
    const pm = await stripe.paymentMethods.retrieve(confirmed.payment_method as string);
    expect(pm.customer).toBe(customer.id);
    const events = await stripe.events.list({ type: "setup_intent.succeeded" });
    expect(events.data).toHaveLength(1);
    expect((events.data[0]!.data.object as Stripe.SetupIntent).id).toBe(si.id);
    expect(events.data[0]!.request?.id).toMatch(/^req_/);
  });

  it("creates and confirms a payment intent", async () => {
    const customer = await stripe.customers.create({});
    const pi = await stripe.paymentIntents.create({ amount: 1500, currency: "usd", customer: customer.id });
    expect(pi.status).toBe("requires_payment_method");
    expect(pi.client_secret).toMatch(/^pi_\w+_secret_/);
    const paid = await stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" });
    expect(paid.status).toBe("succeeded");
    expect(paid.amount_received).toBe(1500);
    expect((await stripe.paymentIntents.retrieve(pi.id)).latest_charge).toMatch(/^ch_/);
  });
});

describe("webhook endpoints and events", () => {
  it("returns the secret only on create; lists and deletes", async () => {
    const endpoint = await stripe.webhookEndpoints.create({
      url: "http://127.0.0.1:9/hook",
      enabled_events: ["customer.created"],
    });
    expect(endpoint.secret).toMatch(/^whsec_/);
    const fetched = await stripe.webhookEndpoints.retrieve(endpoint.id);
    expect(fetched.secret).toBeUndefined();
    expect((await stripe.webhookEndpoints.list()).data.map((e) => e.id)).toEqual([endpoint.id]);
    expect(await stripe.webhookEndpoints.del(endpoint.id)).toMatchObject({ id: endpoint.id, deleted: true });
  });

  it("lists events with a type filter and retrieves one, with request id and idempotency key", async () => {
    const customer = await stripe.customers.create(
      { email: "ev@example.com" },
      { idempotencyKey: "evt-key" },
    );
    await stripe.customers.update(customer.id, { name: "Ev" });
    const created = await stripe.events.list({ type: "customer.created" });
    expect(created.data).toHaveLength(1);
    expect(created.data[0]!.request).toMatchObject({ idempotency_key: "evt-key" });
    const updated = (await stripe.events.list({ type: "customer.*" })).data;
    expect(updated.map((e) => e.type)).toEqual(["customer.updated", "customer.created"]);
    expect(updated[0]!.data.previous_attributes).toEqual({ name: null });
    const one = await stripe.events.retrieve(updated[0]!.id);
    expect(one.api_version).toBe("2026-10-28.endive");
  });
});
