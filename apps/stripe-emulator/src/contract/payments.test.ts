import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { advanceClock, json, useHarness } from "../../test/contract-harness.ts";
import { billingSetup } from "./fixtures.ts";

const t = useHarness();

const types = async (type: string) => (await t.stripe.events.list({ type, limit: 100 })).data;

/** The test control standing in for Stripe's 3-D Secure test page. */
async function authenticate(
  kind: "payment_intents" | "setup_intents",
  id: string,
  outcome: "succeed" | "fail",
) {
  const res = await t.h.http("POST", `/_emulator/${kind}/${id}/authenticate`, {
    body: JSON.stringify({ outcome }),
    headers: { "content-type": "application/json" },
  });
  return { status: res.status, body: await json(res) };
}

/** An open first invoice (default_incomplete) of 1000 usd and its customer. */
async function openInvoice() {
  const setup = await billingSetup(t.stripe, { withClock: false });
  const sub = await t.stripe.subscriptions.create({
    customer: setup.customer.id,
    items: [{ price: setup.price.id }],
    payment_behavior: "default_incomplete",
  });
  const invoice = await t.stripe.invoices.retrieve(sub.latest_invoice as string);
  return { ...setup, sub, invoice };
}

const paidIntent = (customer: string | undefined, amount: number, currency = "usd") =>
  t.stripe.paymentIntents.create({
    amount,
    currency,
    ...(customer ? { customer } : {}),
    payment_method: "pm_card_visa",
    confirm: true,
  });

// docs.stripe.com/invoicing/partial-payments: "You can charge any amount less than or equal to the
// total of the remaining balance on the invoice"; the attached PaymentIntent is credited to the
// invoice (amount_paid) and "when the invoice is fully paid, the invoice's status becomes paid"
// (docs.stripe.com/api/invoices/attach_payment).
describe("invoices.attachPayment", () => {
  it("refuses a PaymentIntent of another customer, or of none", async () => {
    const { invoice } = await openInvoice();
    const stranger = await t.stripe.customers.create({ email: "stranger@example.com" });
    for (const pi of [await paidIntent(stranger.id, 1000), await paidIntent(undefined, 1000)]) {
      const error = await t.stripe.invoices
        .attachPayment(invoice.id, { payment_intent: pi.id })
        .catch((e) => e);
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error.param).toBe("payment_intent");
    }
    expect((await t.stripe.invoices.retrieve(invoice.id)).status).toBe("open");
  });

  it("refuses another currency and more than amount_remaining", async () => {
    const { invoice, customer } = await openInvoice();
    const euros = await paidIntent(customer.id, 1000, "eur");
    const tooMuch = await paidIntent(customer.id, 1001);
    for (const pi of [euros, tooMuch]) {
      const error = await t.stripe.invoices
        .attachPayment(invoice.id, { payment_intent: pi.id })
        .catch((e) => e);
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error.param).toBe("payment_intent");
    }
    expect(await t.stripe.invoices.retrieve(invoice.id)).toMatchObject({ status: "open", amount_paid: 0 });
  });

  it("a partial payment leaves the invoice open with amount_paid / amount_remaining; the rest pays it", async () => {
    const { invoice, customer, sub } = await openInvoice();
    const first = await paidIntent(customer.id, 400);
    const partly = await t.stripe.invoices.attachPayment(invoice.id, { payment_intent: first.id });
    expect(partly).toMatchObject({
      status: "open",
      amount_due: 1000,
      amount_paid: 400,
      amount_remaining: 600,
    });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe("incomplete");
    const rest = await paidIntent(customer.id, 600);
    const paid = await t.stripe.invoices.attachPayment(invoice.id, { payment_intent: rest.id });
    expect(paid).toMatchObject({ status: "paid", amount_paid: 1000, amount_remaining: 0 });
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe("active");
    const payments = (await types("invoice_payment.paid")).map(
      (e) => (e.data.object as Stripe.InvoicePayment).amount_paid,
    );
    expect(payments.sort()).toEqual([400, 600]);
  });

  it("a PaymentIntent confirmed after it was attached is credited when it succeeds", async () => {
    const { invoice, customer } = await openInvoice();
    const pi = await t.stripe.paymentIntents.create({ amount: 1000, currency: "usd", customer: customer.id });
    const attached = await t.stripe.invoices.attachPayment(invoice.id, { payment_intent: pi.id });
    expect(attached.status).toBe("open");
    await t.stripe.paymentIntents.confirm(pi.id, { payment_method: "pm_card_visa" });
    expect((await t.stripe.invoices.retrieve(invoice.id)).status).toBe("paid");
  });
});

// docs.stripe.com/testing#authentication-and-setup and docs.stripe.com/payments/3d-secure.
describe("3-D Secure: PaymentIntents", () => {
  it("on session: requires_action with a use_stripe_sdk next_action; the test page completes it", async () => {
    const customer = await t.stripe.customers.create({ email: "sca@example.com" });
    const pi = await t.stripe.paymentIntents.create({
      amount: 1500,
      currency: "gbp",
      customer: customer.id,
      payment_method: "pm_card_threeDSecure2Required",
      confirm: true,
    });
    expect(pi.status).toBe("requires_action");
    expect(pi.next_action?.type).toBe("use_stripe_sdk");
    expect((await types("payment_intent.requires_action")).map((e) => e.data.object)).toHaveLength(1);
    const done = await authenticate("payment_intents", pi.id, "succeed");
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: "succeeded", amount_received: 1500, next_action: null });
    expect(await types("payment_intent.succeeded")).toHaveLength(1);
  });

  it("with a return_url the next action is redirect_to_url; a failed authentication needs a new method", async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1500,
      currency: "gbp",
      payment_method: "pm_card_authenticationRequired",
      confirm: true,
      return_url: "https://shop.example.com/return",
    });
    expect(pi.next_action).toMatchObject({
      type: "redirect_to_url",
      redirect_to_url: { return_url: "https://shop.example.com/return" },
    });
    const failed = await authenticate("payment_intents", pi.id, "fail");
    expect(failed.body.status).toBe("requires_payment_method");
    expect(failed.body.last_payment_error.code).toBe("payment_intent_authentication_failure");
    expect(await types("payment_intent.payment_failed")).toHaveLength(1);
    const again = await authenticate("payment_intents", pi.id, "succeed");
    expect(again.status).toBe(400);
  });

  it("off session: fails with authentication_required", async () => {
    const customer = await t.stripe.customers.create({ email: "offsession@example.com" });
    const pm = await t.stripe.paymentMethods.attach("pm_card_authenticationRequired", {
      customer: customer.id,
    });
    const error = await t.stripe.paymentIntents
      .create({
        amount: 1500,
        currency: "gbp",
        customer: customer.id,
        payment_method: pm.id,
        confirm: true,
        off_session: true,
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.code).toBe("authentication_required");
    expect(error.decline_code).toBe("authentication_required");
    expect(error.payment_intent.status).toBe("requires_payment_method");
  });

  it("authentication then a decline: the insufficient-funds 3DS card", async () => {
    const pi = await t.stripe.paymentIntents.create({
      amount: 1500,
      currency: "gbp",
      payment_method: "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds",
      confirm: true,
    });
    expect(pi.status).toBe("requires_action");
    const done = await authenticate("payment_intents", pi.id, "succeed");
    expect(done.body.status).toBe("requires_payment_method");
    expect(done.body.last_payment_error).toMatchObject({
      code: "card_declined",
      decline_code: "insufficient_funds",
    });
  });
});

// docs.stripe.com/billing/subscriptions/overview#requires-action: an invoice payment that needs
// authentication leaves the PaymentIntent requires_action, the invoice open, the subscription
// incomplete (first invoice) or past_due (renewal), and sends invoice.payment_action_required.
describe("3-D Secure: invoices and subscriptions", () => {
  it("first invoice: incomplete, PaymentIntent requires_action; completing it pays and activates", async () => {
    const { customer, price } = await billingSetup(t.stripe, {
      withClock: false,
      card: "pm_card_authenticationRequired",
    });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      expand: ["latest_invoice.payments"],
    });
    expect(sub.status).toBe("incomplete");
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice.status).toBe("open");
    const piId = invoice.payments!.data[0]!.payment.payment_intent as string;
    expect((await t.stripe.paymentIntents.retrieve(piId)).status).toBe("requires_action");
    expect(await types("invoice.payment_action_required")).toHaveLength(1);
    await authenticate("payment_intents", piId, "succeed");
    expect((await t.stripe.invoices.retrieve(invoice.id)).status).toBe("paid");
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe("active");
    for (const type of ["payment_intent.succeeded", "invoice.paid", "invoice_payment.paid"]) {
      expect(await types(type), type).toHaveLength(1);
    }
  });

  it("first invoice: a failed authentication leaves the invoice open and nothing active", async () => {
    const { customer, price } = await billingSetup(t.stripe, {
      withClock: false,
      card: "pm_card_threeDSecure2Required",
    });
    const sub = await t.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      expand: ["latest_invoice.payments"],
    });
    const invoice = sub.latest_invoice as Stripe.Invoice;
    const piId = invoice.payments!.data[0]!.payment.payment_intent as string;
    await authenticate("payment_intents", piId, "fail");
    expect((await t.stripe.invoices.retrieve(invoice.id)).status).toBe("open");
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe("incomplete");
    expect(await types("invoice.payment_failed")).toHaveLength(2);
  });

  it("invoices.pay on such a card is a 402 invoice_payment_intent_requires_action", async () => {
    const { invoice, customer } = await openInvoice();
    const pm = await t.stripe.paymentMethods.attach("pm_card_authenticationRequired", {
      customer: customer.id,
    });
    const error = await t.stripe.invoices.pay(invoice.id, { payment_method: pm.id }).catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.code).toBe("invoice_payment_intent_requires_action");
    expect(error.payment_intent.status).toBe("requires_action");
    expect((await t.stripe.invoices.retrieve(invoice.id)).status).toBe("open");
  });

  it("error_if_incomplete refuses a card that needs authentication and creates nothing", async () => {
    const { customer, price } = await billingSetup(t.stripe, {
      withClock: false,
      card: "pm_card_authenticationRequired",
    });
    const error = await t.stripe.subscriptions
      .create({
        customer: customer.id,
        items: [{ price: price.id }],
        payment_behavior: "error_if_incomplete",
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect((await t.stripe.subscriptions.list({ customer: customer.id, status: "all" })).data).toHaveLength(
      0,
    );
  });

  it("renewal: past_due with an action required; authenticating pays the renewal", async () => {
    const { clock, customer, price } = await billingSetup(t.stripe, {
      card: "pm_card_visa",
      frozenTime: Date.UTC(2026, 0, 1) / 1000,
    });
    const sub = await t.stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const sca = await t.stripe.paymentMethods.attach("pm_card_authenticationRequired", {
      customer: customer.id,
    });
    await t.stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: sca.id } });
    await advanceClock(t.stripe, clock!.id, Date.UTC(2026, 1, 1, 1) / 1000);
    const renewed = await t.stripe.subscriptions.retrieve(sub.id, { expand: ["latest_invoice.payments"] });
    expect(renewed.status).toBe("past_due");
    const invoice = renewed.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({ status: "open", billing_reason: "subscription_cycle" });
    const piId = invoice.payments!.data[0]!.payment.payment_intent as string;
    expect((await t.stripe.paymentIntents.retrieve(piId)).status).toBe("requires_action");
    await authenticate("payment_intents", piId, "succeed");
    expect((await t.stripe.invoices.retrieve(invoice.id)).status).toBe("paid");
    expect((await t.stripe.subscriptions.retrieve(sub.id)).status).toBe("active");
  });
});

describe("3-D Secure: SetupIntents", () => {
  it("confirming needs authentication; completing it attaches the card, which then pays off session", async () => {
    const customer = await t.stripe.customers.create({ email: "setup@example.com" });
    const si = await t.stripe.setupIntents.create({
      customer: customer.id,
      payment_method: "pm_card_authenticationRequiredOnSetup",
      confirm: true,
    });
    expect(si.status).toBe("requires_action");
    expect(si.next_action?.type).toBe("use_stripe_sdk");
    expect((await t.stripe.paymentMethods.list({ customer: customer.id })).data).toHaveLength(0);
    const done = await authenticate("setup_intents", si.id, "succeed");
    expect(done.body.status).toBe("succeeded");
    const [pm] = (await t.stripe.paymentMethods.list({ customer: customer.id })).data;
    expect(pm).toBeDefined();
    // "if you set up this card using the Setup Intents API … no further authentication is needed".
    const paid = await t.stripe.paymentIntents.create({
      amount: 1000,
      currency: "gbp",
      customer: customer.id,
      payment_method: pm!.id,
      confirm: true,
      off_session: true,
    });
    expect(paid.status).toBe("succeeded");
    expect(await types("setup_intent.succeeded")).toHaveLength(1);
  });

  it("a failed authentication leaves requires_payment_method and attaches nothing", async () => {
    const customer = await t.stripe.customers.create({ email: "setup-fail@example.com" });
    const si = await t.stripe.setupIntents.create({
      customer: customer.id,
      payment_method: "pm_card_authenticationRequired",
      confirm: true,
    });
    const failed = await authenticate("setup_intents", si.id, "fail");
    expect(failed.body.status).toBe("requires_payment_method");
    expect(failed.body.last_setup_error.code).toBe("setup_intent_authentication_failure");
    expect(await types("setup_intent.setup_failed")).toHaveLength(1);
    expect((await t.stripe.paymentMethods.list({ customer: customer.id })).data).toHaveLength(0);
  });

  it("a declined-payments card fails the setup with its decline", async () => {
    const customer = await t.stripe.customers.create({ email: "setup-decline@example.com" });
    const error = await t.stripe.setupIntents
      .create({ customer: customer.id, payment_method: "pm_card_visa_chargeDeclined", confirm: true })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.decline_code).toBe("generic_decline");
    expect(error.setup_intent.status).toBe("requires_payment_method");
  });
});
