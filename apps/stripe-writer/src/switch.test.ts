import { loadCatalog } from "@bridge/store";
import { advanceClock, freshDatabase, kafkaBrokers } from "@bridge/testkit";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, hex, offers, poll, seedPaidSubscription, startHarness } from "../test/harness.ts";

/**
 * Issue 12's switch scenarios, through real Kafka against the emulator, asserting what Stripe
 * bills: an upgrade half-way through a period, an equal-value monthly → yearly switch, and an
 * upgrade whose payment is declined.
 */
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ brokers: kafkaBrokers(), databaseUrl: await freshDatabase("writer_switch") });
  await h.startWriter();
});
afterAll(async () => {
  await h?.stop();
});

const DAY = 86_400;

/** A paid subscription to `offerId` on its own test clock; then `token`'s card is the default. */
async function subscribeOnClock(
  offerId: string,
  token = "tok_visa",
  start = Math.floor(Date.parse("2026-03-01T00:00:00Z") / 1000),
) {
  const clock = await h.stripe.testHelpers.testClocks.create({ frozen_time: start });
  const seeded = await seedPaidSubscription(h, offerId, { testClock: clock.id });
  const sub = await h.stripe.subscriptions.retrieve(seeded.stripe.subscriptionId!);
  expect(sub.status).toBe("active");
  if (token !== "tok_visa") {
    // The card that paid the first period now declines (e.g. it was stopped by the bank).
    const declining = await h.card(token);
    await h.stripe.paymentMethods.attach(declining, { customer: seeded.stripe.customerId! });
    await h.stripe.customers.update(seeded.stripe.customerId!, {
      invoice_settings: { default_payment_method: declining },
    });
  }
  return { clock, sub, subscriptionId: seeded.subscriptionId };
}

async function advance(clockId: string, to: number) {
  // Asynchronous, as Stripe's: the clock is `ready` once everything due has run.
  expect((await advanceClock(h.stripe, clockId, to)).status).toBe("ready");
}

async function switchTo(subscriptionId: string, offerId: string) {
  const { orderId } = await h.publishOrder({
    source: "shop",
    order_type: "change_offer",
    subscriptionId,
    offer: { id: offerId },
  });
  return h.waitForOutcome(orderId);
}

describe("change_offer: upgrade now", () => {
  it("half-way through a period: the unused half credited, the full new price charged, a new period from now", async () => {
    const { clock, sub, subscriptionId } = await subscribeOnClock(offers.digitalMonthly);
    const item = sub.items.data[0]!;
    const half = Math.round((item.current_period_start + item.current_period_end) / 2);
    await advance(clock.id, half);

    const outcome = await switchTo(subscriptionId, offers.printDigitalMonthlyRecurring);
    expect(outcome).toMatchObject({ status: "applied", action: "upgraded" });

    const invoice = await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!);
    expect(invoice.status).toBe("paid");
    expect(invoice.billing_reason).toBe("subscription_update");
    const credit = invoice.lines.data.filter((l) => l.amount < 0).reduce((s, l) => s + l.amount, 0);
    const charges = invoice.lines.data.filter((l) => l.amount > 0).reduce((s, l) => s + l.amount, 0);
    // Half of £9.99 unused (±1p of rounding), the full £24.99 for a whole new month.
    expect(Math.abs(credit + 500)).toBeLessThanOrEqual(1);
    expect(charges).toBe(2499);
    expect(invoice.amount_paid).toBe(charges + credit);

    const after = await h.stripe.subscriptions.retrieve(sub.id);
    expect(after.pending_update).toBeNull();
    expect(after.items.data).toHaveLength(1);
    expect(after.items.data[0]!.price.unit_amount).toBe(2499);
    expect(after.items.data[0]!.current_period_start).toBe(half);
    expect(after.billing_cycle_anchor).toBe(half);
    expect(after.metadata.limio_offer_id).toBe(offers.printDigitalMonthlyRecurring);
  });

  it("declined: the order fails with Stripe's decline code and the subscription stays on the old price", async () => {
    const { clock, sub, subscriptionId } = await subscribeOnClock(
      offers.digitalMonthly,
      "tok_chargeCustomerFail",
    );
    const item = sub.items.data[0]!;
    await advance(clock.id, item.current_period_start + 10 * DAY);

    const outcome = await switchTo(subscriptionId, offers.printDigitalMonthlyRecurring);
    expect(outcome).toMatchObject({
      status: "failed",
      error: { code: "payment_failed", stripeCode: "generic_decline" },
    });
    const after = await h.stripe.subscriptions.retrieve(sub.id);
    expect(after.status).toBe("active");
    expect(after.items.data[0]!.price.id).toBe(item.price.id);
    expect(after.items.data[0]!.current_period_start).toBe(item.current_period_start);
    expect(after.billing_cycle_anchor).toBe(sub.billing_cycle_anchor);
    // The upgrade's invoice can no longer be collected: nobody pays later for a failed order.
    const invoice = await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!);
    expect(invoice.status).toBe("void");
    expect(invoice.amount_paid).toBe(0);
    // Stripe discards the pending update at its expiry; the subscription renews at the old price.
    await advance(clock.id, item.current_period_end + DAY);
    const renewed = await h.stripe.subscriptions.retrieve(sub.id);
    expect(renewed.pending_update).toBeNull();
    expect(renewed.items.data[0]!.price.unit_amount).toBe(999);
    const latest = await h.stripe.invoices.retrieve(renewed.latest_invoice as string);
    expect(latest.billing_reason).toBe("subscription_cycle");
    expect(latest.amount_due).toBe(999);
  });
});

/** Publishes (a version of) a monthly GBP offer with one recurring charge; returns its id. */
async function publishMonthly(id: string, value: string, version = hex(40)) {
  await loadCatalog(h.store.db, {
    offers: [
      {
        id,
        version,
        name: `Monthly ${id.slice(0, 8)}`,
        productName: "Daily Ledger Digital",
        stripeProductCode: "prod_LedgerDigital01",
        charges: [
          {
            name: "Digital subscription",
            value,
            currencyCode: "GBP",
            type: "recurring",
            trigger: "subscription_start",
            repeat_interval: 1,
            repeat_interval_type: "months",
          },
        ],
        term: { length: 1, type: "months" },
        autoRenew: true,
      },
    ],
  });
  return id;
}

describe("change_offer: a republished offer (decision 022)", () => {
  it("bought at 9.99, republished at 14.99: a switch to 12.99 is an upgrade, charged today", async () => {
    const from = await publishMonthly(hex(40), "9.99");
    const to = await publishMonthly(hex(40), "12.99");
    const { clock, sub, subscriptionId } = await subscribeOnClock(from);
    const item = sub.items.data[0]!;
    expect(item.price.unit_amount).toBe(999);
    await publishMonthly(from, "14.99");
    await advance(clock.id, item.current_period_start + 10 * DAY);

    const outcome = await switchTo(subscriptionId, to);
    expect(outcome).toMatchObject({ status: "applied", action: "upgraded" });
    const invoice = await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!);
    expect(invoice.status).toBe("paid");
    expect(invoice.lines.data.filter((l) => l.amount > 0).reduce((n, l) => n + l.amount, 0)).toBe(1299);
    expect((await h.stripe.subscriptions.retrieve(sub.id)).items.data[0]!.price.unit_amount).toBe(1299);
  });

  it("bought at 14.99, republished at 9.99: a switch to 12.99 is a downgrade, nothing charged today", async () => {
    const from = await publishMonthly(hex(40), "14.99");
    const to = await publishMonthly(hex(40), "12.99");
    const { clock, sub, subscriptionId } = await subscribeOnClock(from);
    const item = sub.items.data[0]!;
    await publishMonthly(from, "9.99");
    await advance(clock.id, item.current_period_start + 10 * DAY);
    const invoicesBefore = (await h.stripe.invoices.list({ subscription: sub.id })).data.length;

    const outcome = await switchTo(subscriptionId, to);
    expect(outcome).toMatchObject({ status: "applied", action: "downgrade_scheduled" });
    expect((await h.stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(invoicesBefore);
    expect((await h.stripe.subscriptions.retrieve(sub.id)).items.data[0]!.price.unit_amount).toBe(1499);
  });
});

describe("change_offer: a scheduled switch on a fixed term (cancel_at)", () => {
  it("keeps the term's end: the schedule's last phase ends there and cancels the subscription", async () => {
    const cheaper = await publishMonthly(hex(40), "4.99");
    const { clock, sub, subscriptionId } = await subscribeOnClock(offers.digitalMonthly);
    const item = sub.items.data[0]!;
    // A three-month fixed term, as the writer sets it for autoRenew false (decision 015).
    const start = new Date(item.current_period_start * 1000);
    const termEnd = Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 3, start.getUTCDate()) / 1000;
    await h.stripe.subscriptions.update(sub.id, { cancel_at: termEnd, proration_behavior: "none" });
    await advance(clock.id, item.current_period_start + 10 * DAY);

    const outcome = await switchTo(subscriptionId, cheaper);
    expect(outcome).toMatchObject({ status: "applied", action: "downgrade_scheduled" });
    const schedule = await h.stripe.subscriptionSchedules.retrieve(outcome.stripe.scheduleId!);
    expect(schedule.end_behavior).toBe("cancel");
    expect(schedule.phases.at(-1)).toMatchObject({ start_date: item.current_period_end, end_date: termEnd });
    expect(schedule.phases.at(-1)!.metadata).toMatchObject({ limio_auto_renew: "false" });

    await advance(clock.id, item.current_period_end + DAY);
    const switched = await h.stripe.subscriptions.retrieve(sub.id);
    expect(switched.items.data[0]!.price.unit_amount).toBe(499);
    expect(switched.status).toBe("active");
    await advance(clock.id, termEnd + DAY);
    const ended = await h.stripe.subscriptions.retrieve(sub.id);
    expect(ended.status).toBe("canceled");
    expect(ended.ended_at).toBe(termEnd);
  });

  it("an upgrade that releases that schedule puts the term's end back as cancel_at", async () => {
    const cheaper = await publishMonthly(hex(40), "4.99");
    const { clock, sub, subscriptionId } = await subscribeOnClock(offers.digitalMonthly);
    const item = sub.items.data[0]!;
    const start = new Date(item.current_period_start * 1000);
    const termEnd = Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 3, start.getUTCDate()) / 1000;
    await h.stripe.subscriptions.update(sub.id, { cancel_at: termEnd, proration_behavior: "none" });
    await advance(clock.id, item.current_period_start + 10 * DAY);
    const downgrade = await switchTo(subscriptionId, cheaper);
    expect(downgrade).toMatchObject({ status: "applied", action: "downgrade_scheduled" });
    expect((await h.stripe.subscriptions.retrieve(sub.id)).cancel_at).toBeNull();

    const upgrade = await switchTo(subscriptionId, offers.printDigitalMonthlyRecurring);
    expect(upgrade).toMatchObject({ status: "applied", action: "upgraded" });
    const after = await h.stripe.subscriptions.retrieve(sub.id);
    expect(after.schedule).toBeNull();
    expect(after.cancel_at).toBe(termEnd);
    expect((await h.stripe.subscriptionSchedules.retrieve(downgrade.stripe.scheduleId!)).status).toBe(
      "released",
    );
  });
});

describe("change_offer: a scheduled switch on a discounted subscription", () => {
  it("a forever 10% discount still applies after the downgrade's phase starts", async () => {
    const { clock, sub, subscriptionId } = await subscribeOnClock(offers.digitalMonthly);
    const item = sub.items.data[0]!;
    const coupon = await h.stripe.coupons.create({ percent_off: 10, duration: "forever" });
    const discounted = await h.stripe.subscriptions.update(sub.id, { discounts: [{ coupon: coupon.id }] });
    const discountId = discounted.discounts[0] as string;
    await advance(clock.id, item.current_period_start + 10 * DAY);

    const outcome = await switchTo(subscriptionId, offers.digitalQuarterly);
    expect(outcome).toMatchObject({ status: "applied", action: "downgrade_scheduled" });
    const schedule = await h.stripe.subscriptionSchedules.retrieve(outcome.stripe.scheduleId!);
    expect(schedule.phases.map((p) => p.discounts.map((d) => d.discount))).toEqual([
      [discountId],
      [discountId],
    ]);

    await advance(clock.id, item.current_period_end + DAY);
    const renewed = await h.stripe.subscriptions.retrieve(sub.id);
    expect(renewed.discounts).toEqual([discountId]);
    const invoice = await h.stripe.invoices.retrieve(renewed.latest_invoice as string);
    expect(invoice).toMatchObject({ subtotal: 2700, total: 2430 });
  });
});

describe("change_offer: a declined upgrade after a scheduled downgrade", () => {
  it("leaves the downgrade's schedule in place: the period end still applies it", async () => {
    const { clock, sub, subscriptionId } = await subscribeOnClock(
      offers.digitalMonthly,
      "tok_chargeCustomerFail",
    );
    const item = sub.items.data[0]!;
    await advance(clock.id, item.current_period_start + 10 * DAY);
    const downgrade = await switchTo(subscriptionId, offers.digitalQuarterly);
    expect(downgrade).toMatchObject({ status: "applied", action: "downgrade_scheduled" });
    const scheduleId = downgrade.stripe.scheduleId!;

    const upgrade = await switchTo(subscriptionId, offers.printDigitalMonthlyRecurring);
    expect(upgrade).toMatchObject({ status: "failed", error: { code: "payment_failed" } });
    expect((await h.stripe.subscriptionSchedules.retrieve(scheduleId)).status).toBe("active");
    const after = await h.stripe.subscriptions.retrieve(sub.id);
    expect(after.schedule).toBe(scheduleId);
    expect(after.items.data[0]!.price.id).toBe(item.price.id);

    // The first order's word holds: at the period end the subscription moves to the quarterly price.
    await advance(clock.id, item.current_period_end + DAY);
    const renewed = await h.stripe.subscriptions.retrieve(sub.id);
    expect(renewed.items.data[0]!.price).toMatchObject({
      unit_amount: 2700,
      recurring: { interval: "month", interval_count: 3 },
    });
  });
});

describe("change_offer: equal value, another interval", () => {
  it("monthly £9.99 → yearly £119.88: nothing charged today, the yearly price from the period end", async () => {
    const { clock, sub, subscriptionId } = await subscribeOnClock(offers.digitalMonthly);
    const item = sub.items.data[0]!;
    await advance(clock.id, item.current_period_start + 10 * DAY);
    const invoicesBefore = (await h.stripe.invoices.list({ subscription: sub.id })).data.length;

    const outcome = await switchTo(subscriptionId, offers.digitalYearlyEqual);
    expect(outcome).toMatchObject({ status: "applied", action: "downgrade_scheduled" });
    expect((await h.stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(invoicesBefore);
    const now = await h.stripe.subscriptions.retrieve(sub.id);
    expect(now.items.data[0]!.price.id).toBe(item.price.id);

    const schedule = await h.stripe.subscriptionSchedules.retrieve(outcome.stripe.scheduleId!);
    expect(schedule.phases).toHaveLength(2);
    expect(schedule.phases[0]!.end_date).toBe(item.current_period_end);
    expect(schedule.phases[1]!.start_date).toBe(item.current_period_end);
    const yearly = await h.stripe.prices.retrieve(schedule.phases[1]!.items[0]!.price as string);
    expect(yearly).toMatchObject({ unit_amount: 11988, recurring: { interval: "year", interval_count: 1 } });

    // At the period end Stripe bills the yearly price, with no proration.
    await advance(clock.id, item.current_period_end + DAY);
    const renewed = await h.stripe.subscriptions.retrieve(sub.id);
    const invoice = await h.stripe.invoices.retrieve(renewed.latest_invoice as string);
    expect(invoice.amount_due).toBe(11988);
    expect(invoice.lines.data.every((l) => l.amount >= 0)).toBe(true);
    expect(renewed.items.data[0]!.current_period_start).toBe(item.current_period_end);
    // The new phase's metadata is the subscription's now: the sync shows the yearly offer and term.
    expect(renewed.metadata).toMatchObject({
      limio_offer_id: offers.digitalYearlyEqual,
      limio_term_length: "1",
      limio_term_type: "years",
    });
  });
});

describe("change_address", () => {
  it("an order without a type changes the configured default (billing)", async () => {
    const { sub, subscriptionId } = await subscribeOnClock(offers.digitalMonthly);
    const { orderId } = await h.publishOrder({
      source: "shop",
      order_type: "change_address",
      subscriptionId,
      address: { firstName: "Ada", address1: "3 Default Lane", city: "York", country: "GB" },
    });
    expect(await h.waitForOutcome(orderId)).toMatchObject({ status: "applied", action: "address_updated" });
    const customer = (await h.stripe.customers.retrieve(sub.customer as string)) as Stripe.Customer;
    expect(customer.address?.line1).toBe("3 Default Lane");
    expect(customer.shipping).toBeNull();
  });

  it("type all: the address becomes the billing address, deliveryDetails the shipping address", async () => {
    const { sub, subscriptionId } = await subscribeOnClock(offers.digitalMonthly);
    const { orderId } = await h.publishOrder({
      source: "shop",
      order_type: "change_address",
      subscriptionId,
      type: "all",
      address: {
        firstName: "Ada",
        lastName: "Byron",
        address1: "1 Bill Street",
        city: "York",
        country: "GB",
      },
      deliveryDetails: { firstName: "Bo", address1: "2 Deliver Road", city: "Leeds", country: "GB" },
    });
    expect(await h.waitForOutcome(orderId)).toMatchObject({ status: "applied", action: "address_updated" });
    const customer = (await h.stripe.customers.retrieve(sub.customer as string)) as Stripe.Customer;
    expect(customer.address?.line1).toBe("1 Bill Street");
    expect(customer.name).toBe("Ada Byron");
    expect(customer.shipping).toMatchObject({
      name: "Bo",
      address: { line1: "2 Deliver Road", city: "Leeds" },
    });
  });
});

describe("effectiveDate ahead (the order's own date decides the timing)", () => {
  // The clock starts now: an effectiveDate ahead of it is ahead of the bridge's clock too, so
  // the order is accepted only because the writer executes the date (WRITER_FEATURES).
  const now = () => Math.floor(Date.now() / 1000);

  it("a switch at a date: nothing charged today, the new offer's price from that date", async () => {
    const { clock, sub, subscriptionId } = await subscribeOnClock(offers.digitalMonthly, "tok_visa", now());
    const item = sub.items.data[0]!;
    const at = item.current_period_start + 10 * DAY;
    const invoicesBefore = (await h.stripe.invoices.list({ subscription: sub.id })).data.length;
    const { orderId } = await h.publishOrder({
      source: "shop",
      order_type: "change_offer",
      subscriptionId,
      offer: { id: offers.printDigitalMonthlyRecurring },
      effectiveDate: new Date(at * 1000).toISOString(),
    });
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({ status: "applied" });
    expect((await h.stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(invoicesBefore);
    const schedule = await h.stripe.subscriptionSchedules.retrieve(outcome.stripe.scheduleId!);
    expect(schedule.phases[1]!.start_date).toBe(at);

    await advance(clock.id, at - DAY);
    expect((await h.stripe.subscriptions.retrieve(sub.id)).items.data[0]!.price.unit_amount).toBe(999);
    await advance(clock.id, at + DAY);
    const switched = await h.stripe.subscriptions.retrieve(sub.id);
    expect(switched.items.data[0]!.price.unit_amount).toBe(2499);
    // phase_start: a new period from the switch date, the unused time of the old one credited.
    expect(switched.billing_cycle_anchor).toBe(at);
    const invoice = await h.stripe.invoices.retrieve(switched.latest_invoice as string);
    expect(invoice.lines.data.some((l) => l.amount < 0)).toBe(true);
    expect(invoice.lines.data.filter((l) => l.amount > 0).reduce((n, l) => n + l.amount, 0)).toBe(2499);
    expect(switched.metadata.limio_offer_id).toBe(offers.printDigitalMonthlyRecurring);
  });

  it("a cancellation at a date after the period end: the subscription ends at that date", async () => {
    const { sub, subscriptionId } = await subscribeOnClock(offers.digitalMonthly, "tok_visa", now());
    const at = sub.items.data[0]!.current_period_end + 40 * DAY;
    const { orderId } = await h.publishOrder({
      source: "shop",
      order_type: "cancel_subscription",
      subscriptionId,
      effectiveDate: new Date(at * 1000).toISOString(),
    });
    expect(await h.waitForOutcome(orderId)).toMatchObject({ status: "applied", action: "cancel_scheduled" });
    const after = await h.stripe.subscriptions.retrieve(sub.id);
    expect(after.cancel_at).toBe(at);
    expect(after.cancel_at_period_end).toBe(false);
  });
});

describe("an order while the customer's test clock advances", () => {
  it("is tried again once the clock is ready, not failed on Stripe's refusal", async () => {
    const { clock, sub, subscriptionId } = await subscribeOnClock(offers.digitalMonthly);
    // Held `advancing`, as Stripe holds a clock until the advance's work is done: writes to the
    // clock's objects are refused meanwhile (400).
    const stored = h.emu.state.get("test_helpers.test_clock", clock.id)!;
    stored.status = "advancing";
    const from = h.emu.state.requestLog.length;
    const { orderId } = await h.publishOrder({
      source: "shop",
      order_type: "cancel_subscription",
      subscriptionId,
    });

    // The writer's cancel was refused, then it read the customer's clock (still advancing).
    await poll(
      () => {
        const log = h.emu.state.requestLog.slice(from);
        const refused = log.findIndex(
          (r) => r.method === "POST" && r.path === `/v1/subscriptions/${sub.id}` && r.status === 400,
        );
        return (
          refused >= 0 &&
          log.slice(refused).some((r) => r.method === "GET" && r.path.startsWith("/v1/customers/"))
        );
      },
      { what: "the refused cancel and the clock's check" },
    );
    expect(h.seen.outcomes.some((e) => e.id === `${orderId}:outcome`)).toBe(false);
    stored.status = "ready";

    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({ status: "applied", action: "cancel_scheduled" });
    expect((await h.stripe.subscriptions.retrieve(sub.id)).cancel_at_period_end).toBe(true);
  });
});
