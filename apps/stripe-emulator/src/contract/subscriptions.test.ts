import Stripe from "stripe";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../../test/contract-harness.ts";
import { billingSetup } from "./fixtures.ts";

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

const subscriptionIdOf = (invoice: Stripe.Invoice) => invoice.parent?.subscription_details?.subscription;

describe("subscriptions: creation", () => {
  it("default_incomplete: status incomplete, first invoice open with a confirmation secret, period on the items", async () => {
    const { customer, price, frozenTime } = await billingSetup(stripe);
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "default_incomplete",
      metadata: { limio_order_id: "o-1" },
      expand: ["latest_invoice.confirmation_secret"],
    });
    expect(sub.status).toBe("incomplete");
    expect(sub.billing_mode.type).toBe("flexible");
    expect(sub).not.toHaveProperty("current_period_start");
    const item = sub.items.data[0]!;
    expect(item.current_period_start).toBe(frozenTime);
    expect(item.current_period_end).toBe(Date.UTC(2026, 1, 15, 12, 0, 0) / 1000);
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice.status).toBe("open");
    expect(invoice.billing_reason).toBe("subscription_create");
    expect(invoice.amount_due).toBe(1000);
    expect(invoice).not.toHaveProperty("subscription");
    expect(invoice).not.toHaveProperty("payment_intent");
    expect(invoice.parent?.subscription_details).toEqual({
      metadata: { limio_order_id: "o-1" },
      subscription: sub.id,
    });
    expect(invoice.confirmation_secret?.type).toBe("payment_intent");
    expect(invoice.confirmation_secret?.client_secret).toMatch(/^pi_\w+_secret_/);

    // Without expand the includable field is absent.
    const plain = await stripe.invoices.retrieve(invoice.id);
    expect(plain.confirmation_secret).toBeUndefined();

    // The client confirms the PaymentIntent behind the confirmation secret → invoice paid → active.
    const piId = invoice.confirmation_secret!.client_secret.split("_secret_")[0]!;
    await stripe.paymentIntents.confirm(piId, { payment_method: "pm_card_visa" });
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe("active");
    const paid = await stripe.invoices.retrieve(invoice.id);
    expect(paid).toMatchObject({ status: "paid", amount_paid: 1000, amount_remaining: 0 });
    const payments = await stripe.invoicePayments.list({ invoice: invoice.id });
    expect(payments.data).toHaveLength(1);
    expect(payments.data[0]).toMatchObject({
      status: "paid",
      amount_paid: 1000,
      is_default: true,
      payment: { type: "payment_intent", payment_intent: piId },
    });
  });

  it("allow_incomplete with a default card charges at once → active, invoice paid", async () => {
    const { customer, price } = await billingSetup(stripe, { card: "pm_card_visa" });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id, quantity: 2 }],
      payment_behavior: "allow_incomplete",
      expand: ["latest_invoice", "items.data.price.product"],
    });
    expect(sub.status).toBe("active");
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({ status: "paid", amount_paid: 2000, total: 2000 });
    expect((sub.items.data[0]!.price.product as Stripe.Product).name).toBe("Digital Monthly");
  });

  it("add_invoice_items puts one-off prices on the first invoice only", async () => {
    const { customer, price, product } = await billingSetup(stripe, { card: "pm_card_visa" });
    const setupFee = await stripe.prices.create({ product: product.id, currency: "usd", unit_amount: 499 });
    expect(setupFee.type).toBe("one_time");
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      add_invoice_items: [{ price: setupFee.id, quantity: 2 }],
      expand: ["latest_invoice"],
    });
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice.lines.data.map((l) => l.amount)).toEqual([1000, 998]);
    expect(invoice.amount_paid).toBe(1998);
    const next = await stripe.invoices.createPreview({ subscription: sub.id });
    expect(next.amount_due).toBe(1000);
  });

  it("error_if_incomplete with a declining card: 402 card_declined and no subscription", async () => {
    const { customer, price } = await billingSetup(stripe, { card: "pm_card_chargeCustomerFail" });
    const error = await stripe.subscriptions
      .create({
        customer: customer.id,
        items: [{ price: price.id }],
        payment_behavior: "error_if_incomplete",
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.code).toBe("card_declined");
    expect(error.decline_code).toBe("generic_decline");
    expect((await stripe.subscriptions.list({ customer: customer.id, status: "all" })).data).toHaveLength(0);
  });

  it('at most 20 items and 20 add_invoice_items (OpenAPI: "A list of up to 20 subscription items")', async () => {
    const { customer, price, product } = await billingSetup(stripe, { card: "pm_card_visa" });
    const fee = await stripe.prices.create({ product: product.id, currency: "usd", unit_amount: 100 });
    const many = <T>(item: T) => Array.from({ length: 21 }, () => item);
    const refusals = [
      [
        () => stripe.subscriptions.create({ customer: customer.id, items: many({ price: price.id }) }),
        "items",
      ],
      [
        () =>
          stripe.subscriptions.create({
            customer: customer.id,
            items: [{ price: price.id }],
            add_invoice_items: many({ price: fee.id }),
          }),
        "add_invoice_items",
      ],
      [
        () =>
          stripe.invoices.createPreview({
            customer: customer.id,
            subscription_details: { items: many({ price: price.id }) },
          }),
        "subscription_details[items]",
      ],
    ] as const;
    for (const [request, param] of refusals) {
      const refused = await request().catch((e) => e);
      expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(refused.param).toBe(param);
    }
    expect((await stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(0);

    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    for (const [params, param] of [
      [{ items: many({ price: price.id }) }, "items"],
      [{ add_invoice_items: many({ price: fee.id }) }, "add_invoice_items"],
    ] as const) {
      const refused = await stripe.subscriptions.update(sub.id, params).catch((e) => e);
      expect(refused).toMatchObject({ statusCode: 400, param });
    }
  });

  it("lists subscriptions by customer, status and price", async () => {
    const { customer, price } = await billingSetup(stripe, { card: "pm_card_visa" });
    const a = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const b = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "default_incomplete",
    });
    await stripe.subscriptions.cancel(a.id);
    expect((await stripe.subscriptions.list({ customer: customer.id })).data.map((s) => s.id)).toEqual([
      b.id,
    ]);
    expect((await stripe.subscriptions.list({ status: "canceled" })).data.map((s) => s.id)).toEqual([a.id]);
    expect((await stripe.subscriptions.list({ price: price.id, status: "all" })).data).toHaveLength(2);
  });
});

describe("subscriptions: updates and cancellation", () => {
  it("cancel_at_period_end, default_payment_method and metadata; then cancel now", async () => {
    const { customer, price } = await billingSetup(stripe, { card: "pm_card_visa" });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const other = await stripe.paymentMethods.attach("pm_card_mastercard", { customer: customer.id });
    const updated = await stripe.subscriptions.update(sub.id, {
      cancel_at_period_end: true,
      default_payment_method: other.id,
      metadata: { limio_subscription_id: "s-1" },
    });
    expect(updated.cancel_at_period_end).toBe(true);
    expect(updated.cancel_at).toBe(sub.items.data[0]!.current_period_end);
    expect(updated.default_payment_method).toBe(other.id);
    expect(updated.metadata).toEqual({ limio_subscription_id: "s-1" });
    const event = (await stripe.events.list({ type: "customer.subscription.updated" })).data[0]!;
    expect(event.data.previous_attributes).toMatchObject({ cancel_at_period_end: false, metadata: {} });

    const canceled = await stripe.subscriptions.cancel(sub.id);
    expect(canceled.status).toBe("canceled");
    expect(canceled.ended_at).not.toBeNull();
    expect((await stripe.events.list({ type: "customer.subscription.deleted" })).data).toHaveLength(1);
    const again = await stripe.subscriptions
      .update(sub.id, { default_payment_method: other.id })
      .catch((e) => e);
    expect(again.statusCode).toBe(400);
  });

  it("an incomplete subscription takes only metadata (OpenAPI subscription.status); cancel still works", async () => {
    const { customer, price } = await billingSetup(stripe);
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "default_incomplete",
    });
    expect(sub.status).toBe("incomplete");
    const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    const end = sub.items.data[0]!.current_period_end;
    for (const params of [
      { cancel_at: end + 86_400, proration_behavior: "none" as const, metadata: { a: "1" } },
      { cancel_at_period_end: true },
      { default_payment_method: pm.id },
    ]) {
      const refused = await stripe.subscriptions.update(sub.id, params).catch((e) => e);
      expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(refused.statusCode).toBe(400);
      expect(refused.param).toBe(Object.keys(params)[0]);
    }
    const unchanged = await stripe.subscriptions.retrieve(sub.id);
    expect(unchanged).toMatchObject({ cancel_at: null, default_payment_method: null, metadata: {} });
    const tagged = await stripe.subscriptions.update(sub.id, { metadata: { a: "1" } });
    expect(tagged.metadata).toEqual({ a: "1" });
    expect((await stripe.subscriptions.cancel(sub.id)).status).toBe("canceled");
  });

  it("refuses billing_cycle_anchor as a string since 2026-09-30", async () => {
    const { customer, price } = await billingSetup(stripe, { card: "pm_card_visa" });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const res = await h.http("POST", `/v1/subscriptions/${sub.id}`, {
      body: "billing_cycle_anchor=now",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(400);
  });
});

describe("subscription schedules", () => {
  it("from_subscription, phases with a lower price at period end, refusal of cancel_at_period_end, release", async () => {
    const { customer, price, product } = await billingSetup(stripe, { card: "pm_card_visa" });
    const cheaper = await stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: 500,
      recurring: { interval: "month" },
    });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    expect(schedule.status).toBe("active");
    expect(schedule.subscription).toBe(sub.id);
    expect(schedule.phases).toHaveLength(1);
    const phase0 = schedule.phases[0]!;
    expect(phase0.start_date).toBe(sub.items.data[0]!.current_period_start);
    expect(phase0.end_date).toBe(sub.items.data[0]!.current_period_end);

    const refused = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true }).catch((e) => e);
    expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(refused.statusCode).toBe(400);
    expect(refused.message).toContain(`managed by the subscription schedule \`${schedule.id}\``);

    const updated = await stripe.subscriptionSchedules.update(schedule.id, {
      end_behavior: "release",
      phases: [
        {
          items: [{ price: price.id, quantity: 1 }],
          start_date: phase0.start_date,
          end_date: phase0.end_date,
        },
        { items: [{ price: cheaper.id, quantity: 1 }], duration: { interval: "month", interval_count: 1 } },
      ],
    });
    expect(updated.phases.map((p) => p.items[0]!.price)).toEqual([price.id, cheaper.id]);
    expect(updated.phases[1]!.start_date).toBe(phase0.end_date);
    expect(updated.phases[1]!.end_date).toBe(Date.UTC(2026, 2, 15, 12, 0, 0) / 1000);
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data[0]!.price.id).toBe(price.id);

    const moved = await stripe.subscriptionSchedules
      .update(schedule.id, {
        phases: [
          { items: [{ price: price.id }], start_date: phase0.start_date + 10, end_date: phase0.end_date },
        ],
      })
      .catch((e) => e);
    expect(moved.statusCode).toBe(400);

    const released = await stripe.subscriptionSchedules.release(schedule.id);
    expect(released.status).toBe("released");
    expect(released.released_subscription).toBe(sub.id);
    const free = await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    expect(free.schedule).toBeNull();
    expect(free.cancel_at_period_end).toBe(true);
    const types = (await stripe.events.list({ type: "subscription_schedule.*" })).data.map((e) => e.type);
    expect(types).toEqual([
      "subscription_schedule.released",
      "subscription_schedule.updated",
      "subscription_schedule.created",
    ]);
  });

  it("refuses a one-time price in any item of a phase, as a subscription's items refuse it", async () => {
    const { customer, price, product } = await billingSetup(stripe, { card: "pm_card_visa" });
    const setupFee = await stripe.prices.create({ product: product.id, currency: "usd", unit_amount: 900 });
    for (const items of [[{ price: setupFee.id }], [{ price: price.id }, { price: setupFee.id }]]) {
      const refused = await stripe.subscriptionSchedules
        .create({ customer: customer.id, start_date: "now", phases: [{ items }] })
        .catch((e) => e);
      expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(refused.message).toContain("only accepts prices with `type=recurring`");
      expect(refused.param).toBe(`phases[0][items][${items.length - 1}][price]`);
    }
    expect((await stripe.subscriptions.list({ customer: customer.id })).data).toHaveLength(0);
  });

  it("refuses a schedule from a subscription set to cancel (not documented), and phase metadata that unsets keys", async () => {
    const { customer, price } = await billingSetup(stripe, { card: "pm_card_visa" });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const end = sub.items.data[0]!.current_period_end;
    await stripe.subscriptions.update(sub.id, { cancel_at: end, proration_behavior: "none" });
    const refused = await stripe.subscriptionSchedules.create({ from_subscription: sub.id }).catch((e) => e);
    expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(refused.param).toBe("from_subscription");
    await stripe.subscriptions.update(sub.id, { cancel_at: "" });
    const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    const phase0 = schedule.phases[0]!;
    const unset = await stripe.subscriptionSchedules
      .update(schedule.id, {
        phases: [
          { items: [{ price: price.id }], start_date: phase0.start_date, end_date: phase0.end_date },
          { items: [{ price: price.id }], metadata: { gone: "" } },
        ],
      })
      .catch((e) => e);
    expect(unset.param).toBe("phases[1][metadata][gone]");
  });

  it("create_preview by `schedule` bills the phase in effect at the renewal; by `subscription` it is refused when the schedule changes that invoice", async () => {
    const { customer, price, product } = await billingSetup(stripe, { card: "pm_card_visa" });
    const cheaper = await stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: 500,
      recurring: { interval: "month" },
    });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const end = sub.items.data[0]!.current_period_end;
    const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    // The current phase ends at the renewal and the schedule releases: the renewal is the same.
    const same = await stripe.invoices.createPreview({ schedule: schedule.id });
    expect([same.amount_due, same.next_payment_attempt]).toEqual([1000, end]);
    expect((await stripe.invoices.createPreview({ subscription: sub.id })).amount_due).toBe(1000);

    const phase0 = schedule.phases[0]!;
    await stripe.subscriptionSchedules.update(schedule.id, {
      end_behavior: "release",
      phases: [
        { items: [{ price: price.id }], start_date: phase0.start_date, end_date: phase0.end_date },
        {
          items: [{ price: cheaper.id }],
          billing_cycle_anchor: "phase_start",
          proration_behavior: "none",
          duration: { interval: "month", interval_count: 1 },
        },
      ],
    });
    // OpenAPI: subscription.schedule is expandable (x-expandableFields of `subscription`).
    const expanded = await stripe.subscriptions.retrieve(sub.id, { expand: ["schedule"] });
    expect((expanded.schedule as Stripe.SubscriptionSchedule).end_behavior).toBe("release");
    const next = await stripe.invoices.createPreview({ schedule: schedule.id });
    expect(next.amount_due).toBe(500);
    expect(next.next_payment_attempt).toBe(end);
    expect(next.lines.data.map((l) => [l.pricing?.price_details?.price, l.period.start])).toEqual([
      [cheaper.id, end],
    ]);
    const bySubscription = await stripe.invoices.createPreview({ subscription: sub.id }).catch((e) => e);
    expect(bySubscription).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(bySubscription.param).toBe("subscription");
    const both = await stripe.invoices
      .createPreview({ schedule: schedule.id, subscription: sub.id })
      .catch((e) => e);
    expect(both.param).toBe("subscription");

    // A schedule that cancels the subscription at the renewal: no upcoming invoice.
    await stripe.subscriptionSchedules.update(schedule.id, {
      end_behavior: "cancel",
      phases: [{ items: [{ price: price.id }], start_date: phase0.start_date, end_date: end }],
    });
    const none = await stripe.invoices.createPreview({ schedule: schedule.id }).catch((e) => e);
    expect([none.statusCode, none.code]).toEqual([400, "invoice_upcoming_none"]);
    const ending = await stripe.invoices.createPreview({ subscription: sub.id }).catch((e) => e);
    expect(ending.param).toBe("subscription");
  });

  it("cancel cancels the subscription too", async () => {
    const { customer, price } = await billingSetup(stripe, { card: "pm_card_visa" });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    const canceled = await stripe.subscriptionSchedules.cancel(schedule.id);
    expect(canceled.status).toBe("canceled");
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("canceled");
  });
});

describe("invoices", () => {
  it("pay with an explicit payment method; declined pay is a 402 and counts an attempt", async () => {
    const { customer, price } = await billingSetup(stripe);
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "default_incomplete",
    });
    const invoiceId = sub.latest_invoice as string;
    // "Decline after attaching" (docs.stripe.com/testing#declined-payments).
    const declined = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", {
      customer: customer.id,
    });
    const error = await stripe.invoices.pay(invoiceId, { payment_method: declined.id }).catch((e) => e);
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error.decline_code).toBe("generic_decline");
    const failed = await stripe.invoices.retrieve(invoiceId);
    expect(failed).toMatchObject({ status: "open", attempt_count: 1, attempted: true });
    const visa = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
    const paid = await stripe.invoices.pay(invoiceId, { payment_method: visa.id });
    expect(paid.status).toBe("paid");
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("active");
    const filtered = await stripe.invoices.list({
      customer: customer.id,
      subscription: sub.id,
      status: "paid",
    });
    expect(filtered.data.map((i) => i.id)).toEqual([invoiceId]);
    expect(subscriptionIdOf(filtered.data[0]!)).toBe(sub.id);
  });

  it("pay refuses a payment_method that is unknown or not the invoice customer's, charging nothing", async () => {
    const { customer, price } = await billingSetup(stripe);
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "default_incomplete",
    });
    const invoiceId = sub.latest_invoice as string;
    const unknown = await stripe.invoices.pay(invoiceId, { payment_method: "pm_nope" }).catch((e) => e);
    expect(unknown).toMatchObject({ statusCode: 404, code: "resource_missing", param: "payment_method" });
    const other = await stripe.customers.create({ email: "other@example.com" });
    const theirs = await stripe.paymentMethods.attach("pm_card_visa", { customer: other.id });
    for (const pm of [theirs.id, "pm_card_visa"]) {
      const refused = await stripe.invoices.pay(invoiceId, { payment_method: pm }).catch((e) => e);
      expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(refused).toMatchObject({ statusCode: 400, param: "payment_method" });
    }
    const invoice = await stripe.invoices.retrieve(invoiceId);
    expect(invoice).toMatchObject({ status: "open", amount_paid: 0, attempt_count: 0 });
    expect((await stripe.paymentIntents.list({ customer: other.id })).data).toEqual([]);
  });

  it("attach_payment with a succeeded PaymentIntent pays the invoice", async () => {
    const { customer, price } = await billingSetup(stripe);
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "default_incomplete",
    });
    const pi = await stripe.paymentIntents.create({
      amount: 1000,
      currency: "usd",
      customer: customer.id,
      payment_method: "pm_card_visa",
      confirm: true,
    });
    const invoice = await stripe.invoices.attachPayment(sub.latest_invoice as string, {
      payment_intent: pi.id,
    });
    expect(invoice.status).toBe("paid");
    const payments = await stripe.invoicePayments.list({ invoice: invoice.id });
    expect(payments.data.map((p) => p.status).sort()).toEqual(["canceled", "paid"]);
  });

  it("void an open invoice; finalize a draft", async () => {
    const { customer, price } = await billingSetup(stripe);
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "default_incomplete",
    });
    const voided = await stripe.invoices.voidInvoice(sub.latest_invoice as string);
    expect(voided.status).toBe("void");
    const again = await stripe.invoices.voidInvoice(voided.id).catch((e) => e);
    expect(again.statusCode).toBe(400);
    const draft = await stripe.invoices.create({ customer: customer.id, auto_advance: false });
    expect(draft.status).toBe("draft");
    const finalized = await stripe.invoices.finalizeInvoice(draft.id);
    expect(finalized.status).toBe("paid"); // zero-amount invoices are paid on finalization
    expect(finalized.number).toMatch(new RegExp(`^${customer.invoice_prefix}-\\d{4}$`));
  });

  it("createPreview shows the next renewal", async () => {
    const { customer, price } = await billingSetup(stripe, { card: "pm_card_visa" });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const preview = await stripe.invoices.createPreview({ subscription: sub.id });
    expect(preview.id).toMatch(/^upcoming_in_/);
    expect(preview.amount_due).toBe(1000);
    expect(preview.lines.data[0]!.period.start).toBe(sub.items.data[0]!.current_period_end);
    await expect(stripe.invoices.retrieve(preview.id)).rejects.toThrow(/No such invoice/);
  });
});
