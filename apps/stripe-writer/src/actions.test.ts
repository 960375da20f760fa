import { messageTypes, stripeEventReceivedData } from "@bridge/domain";
import { freshDatabase, kafkaBrokers } from "@bridge/testkit";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Harness,
  hex,
  newOrder,
  newSubscriptionId,
  offers,
  poll,
  startHarness,
} from "../test/harness.ts";

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ brokers: kafkaBrokers(), databaseUrl: await freshDatabase("writer_actions") });
  await h.startWriter();
});
afterAll(async () => {
  await h?.stop();
});

const email = () => `reader+${hex(8)}@example.com`;

async function apply(order: Record<string, unknown>) {
  const { orderId } = await h.publishOrder({ source: "shop", ...order });
  return { orderId, outcome: await h.waitForOutcome(orderId) };
}

/**
 * A new order placed without payment details: its subscription stays `incomplete` while the shop
 * has not confirmed the first invoice (decision 018); linked as the sync would link it.
 */
async function incompleteSubscription() {
  const { orderId } = await h.publishOrder(newOrder({ email: email() }));
  const outcome = await h.waitForOutcome(orderId);
  expect(outcome.status).toBe("requires_action");
  await h.linkSubscription(outcome, offers.digitalMonthly);
  const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
  expect(sub.status).toBe("incomplete");
  return { outcome, sub };
}

describe("orders for an incomplete subscription (Stripe lets only its metadata change)", () => {
  it("cancel_subscription fails by name with nothing changed in Stripe", async () => {
    const { outcome: created, sub } = await incompleteSubscription();
    const cancel = await apply({ order_type: "cancel_subscription", subscriptionId: created.subscriptionId });
    expect(cancel.outcome).toMatchObject({ status: "failed", error: { code: "subscription_incomplete" } });
    const after = await h.stripe.subscriptions.retrieve(sub.id);
    expect(after).toMatchObject({ status: "incomplete", cancel_at: null, cancel_at_period_end: false });
  });
});

describe("cancel_subscription", () => {
  it("cancels at the end of the current period; a past cancelDate means the same", async () => {
    const created = await h.subscribe(email(), offers.digitalMonthly);
    const { orderId, outcome } = await apply({
      order_type: "cancel_subscription",
      subscriptionId: created.subscriptionId,
      cancelDate: "2020-01-01",
    });
    expect(outcome).toMatchObject({ status: "applied", action: "cancel_scheduled" });
    const sub = await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!);
    expect(sub.status).toBe("active");
    expect(sub.cancel_at_period_end).toBe(true);
    expect(sub.cancel_at).toBe(sub.items.data[0]!.current_period_end);
    expect(sub.metadata.limio_order_id).toBe(orderId);
    // The outcome alone tells the sync (no second sync request).
    expect(h.seen.outcomes.some((e) => e.id === `${orderId}:outcome`)).toBe(true);
    expect(await h.syncRequestsAfterOrdersHandled()).toBe(0);
  });

  it("cancels at a cancelDate after the current period end, without prorating", async () => {
    const created = await h.subscribe(email(), offers.digitalMonthly);
    const periodEnd = (await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!)).items.data[0]!
      .current_period_end;
    const later = periodEnd + 40 * 86_400;
    const { outcome } = await apply({
      order_type: "cancel_subscription",
      subscriptionId: created.subscriptionId,
      cancelDate: new Date(later * 1000).toISOString(),
    });
    expect(outcome.status).toBe("applied");
    const sub = await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!);
    expect(sub.cancel_at).toBe(later);
    expect(sub.cancel_at_period_end).toBe(false);
  });

  it("effectiveDate counts as cancelDate: two disagreeing dates fail the order by field, nothing changed", async () => {
    const created = await h.subscribe(email(), offers.digitalMonthly);
    const periodEnd = (await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!)).items.data[0]!
      .current_period_end;
    const later = new Date((periodEnd + 40 * 86_400) * 1000).toISOString();
    const both = await apply({
      order_type: "cancel_subscription",
      subscriptionId: created.subscriptionId,
      cancelDate: later,
      effectiveDate: "2020-01-01",
    });
    expect(both.outcome).toMatchObject({ status: "failed", error: { code: "unsupported_field" } });
    expect(both.outcome.error?.message).toContain("effectiveDate");
    expect((await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!)).cancel_at).toBeNull();
    // A past effectiveDate alone means the period end, like cancelDate (a future one: switch.test.ts).
    const { outcome } = await apply({
      order_type: "cancel_subscription",
      subscriptionId: created.subscriptionId,
      effectiveDate: "2020-01-01",
    });
    expect(outcome).toMatchObject({ status: "applied", action: "cancel_scheduled" });
    const sub = await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!);
    expect(sub.cancel_at).toBe(periodEnd);
    expect(sub.cancel_at_period_end).toBe(true);
  });

  it("fails for an unknown Limio subscription", async () => {
    const { outcome } = await apply({
      order_type: "cancel_subscription",
      subscriptionId: newSubscriptionId(),
    });
    expect(outcome).toMatchObject({ status: "failed", error: { code: "subscription_not_found" } });
  });
});

describe("change_address", () => {
  it("updates billing and delivery address with name, phone and email", async () => {
    const created = await h.subscribe(email(), offers.digitalMonthly);
    const { orderId, outcome } = await apply({
      order_type: "change_address",
      forSubscription: { id: created.subscriptionId },
      type: "all",
      address: {
        firstName: "Augusta",
        lastName: "King",
        email: "augusta@example.com",
        phone: "+44 1632 960000",
        address1: "10 Downing Street",
        city: "London",
        postalCode: "SW1A 2AA",
        country: "GB",
      },
    });
    expect(outcome).toMatchObject({ status: "applied", action: "address_updated", addressType: "all" });
    const customer = (await h.stripe.customers.retrieve(created.stripe.customerId!)) as Stripe.Customer;
    expect(customer.address).toMatchObject({
      line1: "10 Downing Street",
      postal_code: "SW1A 2AA",
      country: "GB",
    });
    expect(customer.shipping).toMatchObject({
      name: "Augusta King",
      address: { line1: "10 Downing Street" },
    });
    expect(customer).toMatchObject({
      name: "Augusta King",
      phone: "+44 1632 960000",
      email: "augusta@example.com",
    });
    expect(customer.metadata.limio_order_id).toBe(orderId);
  });

  it("deliveryDetails alone, without a type: customer.shipping, the billing address untouched; the outcome says delivery", async () => {
    const created = await h.subscribe(email(), offers.digitalMonthly);
    const before = (await h.stripe.customers.retrieve(created.stripe.customerId!)) as Stripe.Customer;
    // The writer's configured type is billing (the default): the order's details decide.
    const { outcome } = await apply({
      order_type: "change_address",
      forSubscription: { id: created.subscriptionId },
      deliveryDetails: {
        firstName: "Grace",
        lastName: "Hopper",
        address1: "1 Dock Road",
        city: "Hull",
        country: "GB",
      },
    });
    expect(outcome).toMatchObject({ status: "applied", action: "address_updated", addressType: "delivery" });
    const customer = (await h.stripe.customers.retrieve(created.stripe.customerId!)) as Stripe.Customer;
    expect(customer.shipping).toMatchObject({ name: "Grace Hopper", address: { line1: "1 Dock Road" } });
    expect(customer.address).toEqual(before.address);
  });

  it("waits for a subscription that is not linked to Stripe yet, then applies", async () => {
    const created = await h.subscribe(email(), offers.digitalMonthly);
    // The Limio subscription exists but the sync-consumer has not linked it yet.
    const unlinkedId = newSubscriptionId();
    const customerId = `cus-${hex()}`;
    await h.store.db.customer.create({ data: { id: customerId, email: "x@example.com" } });
    await h.store.db.subscription.create({
      data: {
        id: unlinkedId,
        reference: hex(12).toUpperCase(),
        customerId,
        status: "pending",
        source: "shop",
      },
    });
    const { orderId } = await h.publishOrder({
      source: "shop",
      order_type: "change_address",
      subscriptionId: unlinkedId,
      type: "billing",
      address: { address1: "1 Late Link Road", city: "Leeds", country: "GB" },
    });
    await new Promise((resolve) => setTimeout(resolve, 500)); // the writer is retrying now
    // Link it to the first subscription's Stripe objects (stripeSubscriptionId is unique).
    await h.store.db.subscription.update({
      where: { id: created.subscriptionId },
      data: { stripeSubscriptionId: null },
    });
    await h.store.db.subscription.update({
      where: { id: unlinkedId },
      data: {
        stripeCustomerId: created.stripe.customerId!,
        stripeSubscriptionId: created.stripe.subscriptionId!,
      },
    });
    const outcome = await h.waitForOutcome(orderId, { timeoutMs: 45_000 });
    expect(outcome.status).toBe("applied");
    const customer = (await h.stripe.customers.retrieve(created.stripe.customerId!)) as Stripe.Customer;
    expect(customer.address?.line1).toBe("1 Late Link Road");
  }, 60_000);
});

describe("change_offer", () => {
  it("upgrade: swaps the price now, credits unused time, charges the full new price, a new period from now", async () => {
    const created = await h.subscribe(email(), offers.digitalMonthly);
    const before = await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!);
    const { outcome } = await apply({
      order_type: "change_offer",
      subscriptionId: created.subscriptionId,
      offer: { id: offers.printDigitalMonthlyRecurring },
    });
    expect(outcome).toMatchObject({ status: "applied", action: "upgraded" });
    const sub = await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!);
    expect(sub.items.data).toHaveLength(1);
    expect(sub.items.data[0]!.price).toMatchObject({
      unit_amount: 2499,
      product: "prod_LedgerPrintDigital01",
    });
    expect(sub.items.data[0]!.id).toBe(before.items.data[0]!.id);
    // The billing period restarts at the switch (the seed's rule; switch.test.ts shows it half-way).
    expect(sub.billing_cycle_anchor).toBeGreaterThanOrEqual(before.billing_cycle_anchor);
    expect(sub.items.data[0]!.current_period_start).toBe(sub.billing_cycle_anchor);
    expect(sub.metadata.limio_offer_id).toBe(offers.printDigitalMonthlyRecurring);
    const invoice = await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!);
    expect(invoice.id).not.toBe(before.latest_invoice);
    // Unused £9.99 credited, the full £24.99 charged: ~£15.00 for a switch right after the start
    // (switch.test.ts checks a switch half-way through the period).
    expect(invoice.amount_due).toBeGreaterThan(1490);
    expect(invoice.amount_due).toBeLessThanOrEqual(1500);
    expect(invoice.lines.data.some((l) => l.amount < 0)).toBe(true);
    expect(invoice.status).toBe("paid");
  });

  it("downgrade: a schedule switches to the lower price at period end, nothing charged today", async () => {
    const created = await h.subscribe(email(), offers.digitalMonthly);
    const before = await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!);
    const periodEnd = before.items.data[0]!.current_period_end;
    const { outcome } = await apply({
      order_type: "change_offer",
      subscriptionId: created.subscriptionId,
      offer: { id: offers.digitalAnnual },
    });
    expect(outcome).toMatchObject({ status: "applied", action: "downgrade_scheduled" });
    const schedule = await h.stripe.subscriptionSchedules.retrieve(outcome.stripe.scheduleId!);
    expect(schedule.end_behavior).toBe("release");
    expect(schedule.phases).toHaveLength(2);
    expect(schedule.phases[0]!.end_date).toBe(periodEnd);
    expect(schedule.phases[0]!.items[0]!.price).toBe(before.items.data[0]!.price.id);
    expect(schedule.phases[1]!.start_date).toBe(periodEnd);
    const annual = await h.stripe.prices.retrieve(schedule.phases[1]!.items[0]!.price as string);
    expect(annual).toMatchObject({ unit_amount: 9900, recurring: { interval: "year", interval_count: 1 } });
    const sub = await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!);
    expect(sub.items.data[0]!.price.id).toBe(before.items.data[0]!.price.id);
    expect(sub.latest_invoice).toBe(before.latest_invoice);
    expect(sub.schedule).toBe(schedule.id);

    // An upgrade while the downgrade is pending releases the schedule first.
    const up = await apply({
      order_type: "change_offer",
      subscriptionId: created.subscriptionId,
      offer: { id: offers.printDigitalMonthlyRecurring },
    });
    expect(up.outcome).toMatchObject({ status: "applied", action: "upgraded" });
    const after = await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!);
    expect(after.schedule).toBeNull();
    expect(after.items.data[0]!.price.unit_amount).toBe(2499);
    expect((await h.stripe.subscriptionSchedules.retrieve(schedule.id)).status).toBe("released");
  });

  it("cancelling with a pending downgrade releases the schedule first", async () => {
    const created = await h.subscribe(email(), offers.digitalMonthly);
    const down = await apply({
      order_type: "change_offer",
      subscriptionId: created.subscriptionId,
      offer: { id: offers.digitalAnnual },
    });
    const { outcome } = await apply({
      order_type: "cancel_subscription",
      subscriptionId: created.subscriptionId,
    });
    expect(outcome.status).toBe("applied");
    const sub = await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!);
    expect(sub.schedule).toBeNull();
    expect(sub.cancel_at_period_end).toBe(true);
    expect((await h.stripe.subscriptionSchedules.retrieve(down.outcome.stripe.scheduleId!)).status).toBe(
      "released",
    );
  });
});

describe("change_offer edge cases", () => {
  it("the same offer: nothing to change; another currency fails with currency_mismatch", async () => {
    const created = await h.subscribe(email(), offers.digitalMonthly);
    const before = await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!);
    const same = await apply({
      order_type: "change_offer",
      subscriptionId: created.subscriptionId,
      offer: { id: offers.digitalMonthly },
    });
    expect(same.outcome).toMatchObject({ status: "applied", action: "none" });
    const after = await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!);
    expect(after.latest_invoice).toBe(before.latest_invoice);
    const usd = await apply({
      order_type: "change_offer",
      subscriptionId: created.subscriptionId,
      offer: { id: "a5be949a105891ea22d779e23fd01ed49d950eed" },
    });
    expect(usd.outcome).toMatchObject({ status: "failed", error: { code: "currency_mismatch" } });
  });
});

describe("change_payment", () => {
  it("pays the open invoice of the subscription with the new method", async () => {
    // A subscription whose first invoice is still open (no payment method yet).
    const customer = await h.stripe.customers.create({ email: email() });
    const price = (await h.stripe.prices.list({ limit: 100 })).data.find(
      (p) => p.unit_amount === 999 && p.active,
    )!;
    const sub = await h.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "default_incomplete",
    });
    expect(sub.status).toBe("incomplete");
    const outcome0 = {
      orderId: `order-${hex()}`,
      subscriptionId: newSubscriptionId(),
      orderType: "new" as const,
      status: "applied" as const,
      action: "subscription_created",
      stripe: { customerId: customer.id, subscriptionId: sub.id },
      completedAt: new Date().toISOString(),
    };
    await h.linkSubscription(outcome0, offers.digitalMonthly);
    const pm = await h.card("tok_visa");
    const { outcome } = await apply({
      order_type: "change_payment",
      subscriptionId: outcome0.subscriptionId,
      payment: { type: "stripe", paymentMethodId: pm },
    });
    expect(outcome).toMatchObject({ status: "applied", action: "payment_method_updated" });
    expect(outcome.stripe.invoiceId).toBe(sub.latest_invoice);
    expect((await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!)).status).toBe("paid");
    // Incomplete until paid, the subscription takes its new default only then (Stripe refuses it before).
    const after = await h.stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe("active");
    expect(after.default_payment_method).toEqual(expect.stringMatching(/^pm_/));
    const customerAfter = (await h.stripe.customers.retrieve(customer.id)) as Stripe.Customer;
    expect(after.default_payment_method).toBe(customerAfter.invoice_settings.default_payment_method);
  });

  it("with a confirmed PaymentMethod: default on customer and subscription at once", async () => {
    const created = await h.subscribe(email(), offers.digitalMonthly);
    const pm = await h.card("tok_mastercard");
    const { outcome } = await apply({
      order_type: "change_payment",
      subscriptionId: created.subscriptionId,
      payment: { type: "stripe", paymentMethodId: pm },
    });
    expect(outcome).toMatchObject({ status: "applied", action: "payment_method_updated" });
    const customer = (await h.stripe.customers.retrieve(created.stripe.customerId!)) as Stripe.Customer;
    expect(customer.invoice_settings.default_payment_method).toBe(pm);
    const sub = await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!);
    expect(sub.default_payment_method).toBe(pm);
  });

  it("without one: a SetupIntent's client secret, then setup_intent.succeeded finishes the change", async () => {
    const created = await h.subscribe(email(), offers.digitalMonthly);
    const original = await h.publishOrder({
      source: "shop",
      order_type: "change_payment",
      subscriptionId: created.subscriptionId,
    });
    const orderId = original.orderId;
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({
      status: "requires_action",
      action: "payment_setup_started",
      clientSecret: { type: "setup_intent" },
    });
    const intent = await h.stripe.setupIntents.retrieve(outcome.stripe.setupIntentId!);
    expect(intent).toMatchObject({
      usage: "off_session",
      customer: created.stripe.customerId,
      metadata: { limio_order_id: orderId },
    });
    expect(outcome.clientSecret?.value).toBe(intent.client_secret);

    // The shop confirms it; Stripe's event reaches the writer through stripe.events.v1.
    const pm = await h.card("tok_amex");
    await h.stripe.setupIntents.confirm(intent.id, { payment_method: pm });
    const event = await poll(async () =>
      (await h.stripe.events.list({ type: "setup_intent.succeeded", limit: 10 })).data.find(
        (e) => (e.data.object as { id: string }).id === intent.id,
      ),
    );
    const envelope = {
      id: `stripe:${event.id}`,
      type: messageTypes.stripeEventReceived,
      version: 1,
      occurredAt: new Date().toISOString(),
      source: "ingest-gateway",
      correlationId: event.id,
      data: stripeEventReceivedData(event as never),
    };
    await h.publishEnvelope(intent.id, envelope, h.topics.stripeEvents);
    await h.publishEnvelope(intent.id, envelope, h.topics.stripeEvents); // delivered twice
    const done = await h.waitForOutcome(orderId, { id: `${orderId}:setup-succeeded:outcome` });
    expect(done).toMatchObject({
      status: "applied",
      action: "payment_method_updated",
      stripe: { setupIntentId: intent.id },
    });
    const customer = (await h.stripe.customers.retrieve(created.stripe.customerId!)) as Stripe.Customer;
    expect(customer.invoice_settings.default_payment_method).toBe(pm);
    expect(
      (await h.stripe.subscriptions.retrieve(created.stripe.subscriptionId!)).default_payment_method,
    ).toBe(pm);
    expect(h.seen.outcomes.some((e) => e.id === `${orderId}:setup-succeeded:outcome`)).toBe(true);
    expect(await h.syncRequestsAfterOrdersHandled()).toBe(0);
    // The original order redelivered afterwards does not turn the change back into "started".
    await h.publishEnvelope(original.subscriptionId, original.envelope);
    await poll(() => h.seen.outcomes.filter((e) => e.id === `${orderId}:outcome`).length >= 2 || undefined);
    const row = await h.store.db.order.findUnique({ where: { id: orderId } });
    expect(row?.outcome).toMatchObject({ action: "payment_method_updated" });
  });
});
