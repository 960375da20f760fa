import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  advanceClock,
  type Harness,
  json,
  startHarness,
  startReceiver,
} from "../../test/contract-harness.ts";
import { advanceClock as runAdvance } from "../billing/clock.ts";
import { billingSetup } from "./fixtures.ts";

const utc = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d, 12, 0, 0) / 1000;

let h: Harness;
let stripe: Stripe;
beforeAll(async () => {
  // Short webhook backoff so the retry path runs inside the test; 3 Smart Retries 3 days apart, then cancel.
  h = await startHarness({
    webhookDelivery: { maxAttempts: 5, backoffMs: 5 },
    dunning: { retries: 3, intervalSeconds: 3 * 86400, finalStatus: "canceled" },
  });
  stripe = h.stripe;
});
afterAll(async () => {
  await h.stop();
});

const TRACKED = new Set([
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "invoice.created",
  "invoice.finalized",
  "invoice.paid",
  "invoice.payment_succeeded",
  "invoice.payment_failed",
  "test_helpers.test_clock.ready",
]);

describe("test clock: monthly renewals, a card that starts declining, dunning, cancellation", () => {
  it("renews, fails, retries, cancels — with the expected events, every webhook signed and verified", async () => {
    const receiver = await startReceiver(stripe, { failFirst: 2 });
    const endpoint = await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ["*"] });
    receiver.setSecret(endpoint.secret!);

    const { clock, customer, price } = await billingSetup(stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 1, 15),
    });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "allow_incomplete",
    });
    expect(sub.status).toBe("active");
    expect(sub.items.data[0]!.current_period_end).toBe(utc(2026, 2, 15));

    // Period 1 → 2: renewal charged to the customer's default card.
    await advanceClock(stripe, clock!.id, utc(2026, 2, 15));
    let current = await stripe.subscriptions.retrieve(sub.id);
    expect(current.status).toBe("active");
    expect(current.items.data[0]!.current_period_start).toBe(utc(2026, 2, 15));
    expect(current.items.data[0]!.current_period_end).toBe(utc(2026, 3, 15));
    const renewal1 = await stripe.invoices.retrieve(current.latest_invoice as string);
    expect(renewal1).toMatchObject({
      billing_reason: "subscription_cycle",
      status: "paid",
      amount_paid: 1000,
    });
    expect(renewal1.lines.data[0]!.period).toEqual({ start: utc(2026, 2, 15), end: utc(2026, 3, 15) });

    // The customer's default card is swapped for one that attaches but fails every charge.
    const failing = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", {
      customer: customer.id,
    });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: failing.id } });

    // Period 2 → 3: the renewal fails → past_due, next Smart Retry in 3 days.
    await advanceClock(stripe, clock!.id, utc(2026, 3, 15));
    current = await stripe.subscriptions.retrieve(sub.id);
    expect(current.status).toBe("past_due");
    const renewal2 = await stripe.invoices.retrieve(current.latest_invoice as string);
    expect(renewal2).toMatchObject({
      status: "open",
      attempt_count: 1,
      attempted: true,
      next_payment_attempt: utc(2026, 3, 18),
    });
    expect(((await stripe.customers.retrieve(customer.id)) as Stripe.Customer).delinquent).toBe(true);

    // Another month: retries on Mar 18, 21, 24 all fail → the subscription is canceled on Mar 24 (no April renewal).
    await advanceClock(stripe, clock!.id, utc(2026, 4, 15));
    current = await stripe.subscriptions.retrieve(sub.id);
    expect(current.status).toBe("canceled");
    expect(current.ended_at).toBe(utc(2026, 3, 24));
    expect(current.cancellation_details?.reason).toBe("payment_failed");
    const finalInvoice = await stripe.invoices.retrieve(renewal2.id);
    expect(finalInvoice).toMatchObject({ status: "open", attempt_count: 4, next_payment_attempt: null });

    const invoices = await stripe.invoices.list({ subscription: sub.id });
    expect(invoices.data.map((i) => [i.billing_reason, i.status])).toEqual([
      ["subscription_cycle", "open"],
      ["subscription_cycle", "paid"],
      ["subscription_create", "paid"],
    ]);
    const failedIntents = (await stripe.paymentIntents.list({ customer: customer.id })).data.filter(
      (pi) => pi.status === "requires_payment_method",
    );
    expect(failedIntents.length).toBeGreaterThanOrEqual(1);
    expect(failedIntents[0]!.last_payment_error?.decline_code).toBe("generic_decline");

    // Every event reached the receiver, signed with the endpoint secret (constructEvent verified each).
    const flushed = await json(await h.http("POST", "/_emulator/webhooks/flush"));
    expect(receiver.rejected).toEqual([]);
    const allEvents: Stripe.Event[] = [];
    for await (const e of stripe.events.list({ limit: 100 })) allEvents.push(e);
    expect(allEvents.length).toBeGreaterThan(30);
    expect(allEvents.filter((e) => e.pending_webhooks !== 0)).toEqual([]);
    expect(new Set(receiver.received.map((r) => r.event.id))).toEqual(new Set(allEvents.map((e) => e.id)));
    expect(flushed.deliveries.some((d: { attempts: number }) => d.attempts > 1)).toBe(true);
    for (const r of receiver.received) expect(r.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);

    // Deliveries arrive unordered (as Stripe's); the sequence is the order the events were queued in.
    const queued: string[] = flushed.deliveries.map((d: { eventId: string }) => d.eventId);
    const createdOrder = new Map([...queued].reverse().map((id, i) => [id, queued.length - i]));
    const sequence = [...receiver.received]
      .sort((a, b) => createdOrder.get(a.event.id)! - createdOrder.get(b.event.id)!)
      .map((r) => r.event.type)
      .filter((t) => TRACKED.has(t));
    expect(sequence).toEqual([
      // subscription created and first invoice paid (API request)
      "customer.subscription.created",
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
      "customer.subscription.updated",
      // Feb 15 renewal
      "customer.subscription.updated",
      "invoice.created",
      "invoice.finalized",
      "invoice.paid",
      "invoice.payment_succeeded",
      "test_helpers.test_clock.ready",
      // Mar 15 renewal fails
      "customer.subscription.updated",
      "invoice.created",
      "invoice.finalized",
      "invoice.payment_failed",
      "customer.subscription.updated",
      "test_helpers.test_clock.ready",
      // Smart Retries Mar 18, 21, 24, then cancellation
      "invoice.payment_failed",
      "invoice.payment_failed",
      "invoice.payment_failed",
      "customer.subscription.deleted",
      "test_helpers.test_clock.ready",
    ]);

    // API-caused events carry the request; clock-caused ones carry request.id null.
    const created = receiver.received.find((r) => r.event.type === "customer.subscription.created")!.event;
    expect(created.request?.id).toMatch(/^req_/);
    expect(created.request?.idempotency_key).toMatch(/^stripe-node-retry-/);
    const deleted = receiver.received.find((r) => r.event.type === "customer.subscription.deleted")!.event;
    expect(deleted.request).toEqual({ id: null, idempotency_key: null });
    expect(deleted.created).toBe(utc(2026, 3, 24));
    const pastDue = receiver.received
      .map((r) => r.event)
      .find(
        (e) =>
          e.type === "customer.subscription.updated" &&
          (e.data.object as Stripe.Subscription).status === "past_due",
      )!;
    expect(pastDue.data.previous_attributes).toMatchObject({ status: "active" });
    const periodMove = receiver.received
      .map((r) => r.event)
      .filter((e) => e.type === "customer.subscription.updated")[1]!;
    expect(
      (periodMove.data.previous_attributes as { items: Stripe.ApiList<Stripe.SubscriptionItem> }).items
        .data[0]!.current_period_end,
    ).toBe(utc(2026, 2, 15));
    await receiver.close();
  });

  it("cancel_at_period_end subscriptions end at the period end; schedules switch phase at their end date", async () => {
    const { clock, customer, price, product } = await billingSetup(stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 5, 1),
    });
    const cheaper = await stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: 400,
      recurring: { interval: "month" },
    });
    const ending = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      cancel_at_period_end: true,
    });
    const downgraded = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
    });
    const schedule = await stripe.subscriptionSchedules.create({ from_subscription: downgraded.id });
    const phase0 = schedule.phases[0]!;
    await stripe.subscriptionSchedules.update(schedule.id, {
      end_behavior: "release",
      phases: [
        { items: [{ price: price.id }], start_date: phase0.start_date, end_date: phase0.end_date },
        {
          items: [{ price: cheaper.id }],
          duration: { interval: "month", interval_count: 1 },
          metadata: { plan: "cheaper" },
        },
      ],
    });

    await advanceClock(stripe, clock!.id, utc(2026, 6, 2));
    const endedSub = await stripe.subscriptions.retrieve(ending.id);
    expect(endedSub.status).toBe("canceled");
    expect(endedSub.ended_at).toBe(utc(2026, 6, 1));
    const down = await stripe.subscriptions.retrieve(downgraded.id);
    expect(down.items.data[0]!.price.id).toBe(cheaper.id);
    // The entered phase's metadata is merged into the subscription's.
    expect(down.metadata).toEqual({ plan: "cheaper" });
    const renewal = await stripe.invoices.retrieve(down.latest_invoice as string);
    expect(renewal.amount_due).toBe(400);
    expect(renewal.status).toBe("paid");

    await advanceClock(stripe, clock!.id, utc(2026, 7, 2));
    const released = await stripe.subscriptionSchedules.retrieve(schedule.id);
    expect(released.status).toBe("released");
    expect((await stripe.subscriptions.retrieve(downgraded.id)).schedule).toBeNull();
    const types = (await stripe.events.list({ type: "subscription_schedule.*", limit: 100 })).data.map(
      (e) => e.type,
    );
    expect(types.slice(0, 2)).toEqual(["subscription_schedule.released", "subscription_schedule.updated"]);
  });

  it("a phase entered inside a period: phase_start restarts billing there, unused time credited, metadata merged", async () => {
    const { clock, customer, price, product } = await billingSetup(stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 5, 1),
    });
    const dearer = await stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: 3000,
      recurring: { interval: "month" },
    });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      metadata: { offer: "old", kept: "yes" },
    });
    const item = sub.items.data[0]!;
    const schedule = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    const midway = utc(2026, 5, 16);
    await stripe.subscriptionSchedules.update(schedule.id, {
      phases: [
        { items: [{ price: price.id }], start_date: schedule.phases[0]!.start_date, end_date: midway },
        {
          items: [{ price: dearer.id }],
          start_date: midway,
          billing_cycle_anchor: "phase_start",
          proration_behavior: "create_prorations",
          duration: { interval: "month", interval_count: 1 },
          metadata: { offer: "new" },
        },
      ],
    });
    const phases = (await stripe.subscriptionSchedules.retrieve(schedule.id)).phases;
    expect(phases[1]!.billing_cycle_anchor).toBe("phase_start");

    await advanceClock(stripe, clock!.id, midway + 3600);
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(after.metadata).toEqual({ offer: "new", kept: "yes" });
    expect(after.billing_cycle_anchor).toBe(midway);
    expect(after.items.data[0]!.price.id).toBe(dearer.id);
    expect(after.items.data[0]!.current_period_start).toBe(midway);
    const invoice = await stripe.invoices.retrieve(after.latest_invoice as string);
    expect(invoice.status).toBe("paid");
    const credit = invoice.lines.data.filter((l) => l.amount < 0).reduce((n, l) => n + l.amount, 0);
    const charge = invoice.lines.data.filter((l) => l.amount > 0).reduce((n, l) => n + l.amount, 0);
    // The unused half of the old price (periods of 30 days, 15 left) and a full new period.
    const unused = Math.round(
      (item.price.unit_amount! * (item.current_period_end - midway)) /
        (item.current_period_end - item.current_period_start),
    );
    expect(Math.abs(credit + unused)).toBeLessThanOrEqual(1);
    expect(charge).toBe(3000);
  });

  it("refuses to advance more than two intervals of the shortest subscription at once", async () => {
    const { clock, customer, price } = await billingSetup(stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 1, 10),
    });
    await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const error = await stripe.testHelpers.testClocks
      .advance(clock!.id, { frozen_time: utc(2026, 3, 11) })
      .catch((e) => e);
    expect(error.statusCode).toBe(400);
    expect(error.param).toBe("frozen_time");
    const ok = await advanceClock(stripe, clock!.id, utc(2026, 3, 10));
    expect(ok.status).toBe("ready");
    expect(ok.frozen_time).toBe(utc(2026, 3, 10));
    const backwards = await stripe.testHelpers.testClocks
      .advance(clock!.id, { frozen_time: utc(2026, 3, 1) })
      .catch((e) => e);
    expect(backwards.statusCode).toBe(400);
    const types = (await stripe.events.list({ type: "test_helpers.test_clock.*", limit: 100 })).data
      .filter((e) => (e.data.object as { id: string }).id === clock!.id)
      .map((e) => e.type);
    expect(types).toEqual([
      "test_helpers.test_clock.ready",
      "test_helpers.test_clock.advancing",
      "test_helpers.test_clock.created",
    ]);
  });

  it("with the final status set to unpaid, exhausted retries leave the subscription unpaid; paying reactivates it", async () => {
    const settings = (body: object) =>
      h.http("PUT", "/_emulator/settings", {
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
    await settings({ dunningFinalStatus: "unpaid", dunningRetries: 1, dunningIntervalSeconds: 86400 });
    try {
      const { clock, customer, price } = await billingSetup(stripe, {
        card: "pm_card_visa",
        frozenTime: utc(2026, 8, 1),
      });
      const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
      const failing = await stripe.paymentMethods.attach("pm_card_chargeCustomerFail", {
        customer: customer.id,
      });
      await stripe.customers.update(customer.id, {
        invoice_settings: { default_payment_method: failing.id },
      });
      await advanceClock(stripe, clock!.id, utc(2026, 9, 1));
      expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("past_due");
      await advanceClock(stripe, clock!.id, utc(2026, 9, 3));
      const unpaid = await stripe.subscriptions.retrieve(sub.id);
      expect(unpaid.status).toBe("unpaid");
      const invoice = await stripe.invoices.retrieve(unpaid.latest_invoice as string);
      expect(invoice).toMatchObject({ status: "open", attempt_count: 2, next_payment_attempt: null });
      const visa = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
      await stripe.invoices.pay(invoice.id, { payment_method: visa.id });
      expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("active");
    } finally {
      await settings({
        dunningFinalStatus: "canceled",
        dunningRetries: 3,
        dunningIntervalSeconds: 3 * 86400,
      });
    }
  });

  it("a schedule for a customer starts in the future, switches phase, then cancels (end_behavior cancel)", async () => {
    const { clock, customer, price, product } = await billingSetup(stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2026, 10, 1),
    });
    const annualish = await stripe.prices.create({
      product: product.id,
      currency: "usd",
      unit_amount: 700,
      recurring: { interval: "month" },
    });
    const schedule = await stripe.subscriptionSchedules.create({
      customer: customer.id,
      start_date: utc(2026, 10, 10),
      end_behavior: "cancel",
      phases: [
        {
          items: [{ price: price.id }],
          duration: { interval: "month", interval_count: 1 },
          metadata: { phase: "intro" },
        },
        { items: [{ price: annualish.id }], duration: { interval: "month", interval_count: 1 } },
      ],
    });
    expect(schedule.status).toBe("not_started");
    expect(schedule.subscription).toBeNull();
    expect(schedule.phases.map((p) => [p.start_date, p.end_date])).toEqual([
      [utc(2026, 10, 10), utc(2026, 11, 10)],
      [utc(2026, 11, 10), utc(2026, 12, 10)],
    ]);

    await advanceClock(stripe, clock!.id, utc(2026, 10, 11));
    const started = await stripe.subscriptionSchedules.retrieve(schedule.id);
    expect(started.status).toBe("active");
    const sub = await stripe.subscriptions.retrieve(started.subscription as string, {
      expand: ["latest_invoice"],
    });
    expect(sub).toMatchObject({
      status: "active",
      schedule: schedule.id,
      start_date: utc(2026, 10, 10),
      metadata: { phase: "intro" },
    });
    expect((sub.latest_invoice as Stripe.Invoice).amount_paid).toBe(1000);

    await advanceClock(stripe, clock!.id, utc(2026, 11, 11));
    const switched = await stripe.subscriptions.retrieve(sub.id, { expand: ["latest_invoice"] });
    expect(switched.items.data[0]!.price.id).toBe(annualish.id);
    expect((switched.latest_invoice as Stripe.Invoice).amount_paid).toBe(700);

    await advanceClock(stripe, clock!.id, utc(2026, 12, 11));
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("canceled");
    expect((await stripe.subscriptionSchedules.retrieve(schedule.id)).status).toBe("completed");
  });

  it("trials: trialing with a zero invoice and a pending SetupIntent, trial_will_end 3 days before, then charged", async () => {
    const { clock, customer, price } = await billingSetup(stripe, { frozenTime: utc(2027, 1, 1) });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      trial_period_days: 14,
      payment_behavior: "default_incomplete",
      payment_settings: { save_default_payment_method: "on_subscription" },
      expand: ["latest_invoice", "pending_setup_intent"],
    });
    expect(sub.status).toBe("trialing");
    expect(sub.trial_start).toBe(utc(2027, 1, 1));
    expect(sub.trial_end).toBe(utc(2027, 1, 15));
    expect(sub.items.data[0]!.current_period_end).toBe(utc(2027, 1, 15));
    const first = sub.latest_invoice as Stripe.Invoice;
    expect(first).toMatchObject({ status: "paid", amount_due: 0, billing_reason: "subscription_create" });
    expect(first.lines.data[0]!.description).toBe("Trial period for Digital Monthly");
    const si = sub.pending_setup_intent as Stripe.SetupIntent;
    expect(si.status).toBe("requires_payment_method");
    const confirmed = await stripe.setupIntents.confirm(si.id, { payment_method: "pm_card_visa" });
    await stripe.customers.update(customer.id, {
      invoice_settings: { default_payment_method: confirmed.payment_method as string },
    });

    await advanceClock(stripe, clock!.id, utc(2027, 1, 13));
    const warned = await stripe.events.list({ type: "customer.subscription.trial_will_end" });
    expect(warned.data.map((e) => [(e.data.object as Stripe.Subscription).id, e.created])).toEqual([
      [sub.id, utc(2027, 1, 12)],
    ]);
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe("trialing");

    await advanceClock(stripe, clock!.id, utc(2027, 1, 16));
    const after = await stripe.subscriptions.retrieve(sub.id, { expand: ["latest_invoice"] });
    expect(after.status).toBe("active");
    expect(after.items.data[0]!.current_period_end).toBe(utc(2027, 2, 15));
    expect(after.latest_invoice as Stripe.Invoice).toMatchObject({
      status: "paid",
      amount_paid: 1000,
      billing_reason: "subscription_cycle",
    });
  });

  it("trials ending without a payment method cancel when trial_settings ask for it", async () => {
    const { clock, customer, price } = await billingSetup(stripe, { frozenTime: utc(2027, 3, 1) });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      trial_end: utc(2027, 3, 8),
      trial_settings: { end_behavior: { missing_payment_method: "cancel" } },
    });
    expect(sub.status).toBe("trialing");
    await advanceClock(stripe, clock!.id, utc(2027, 3, 9));
    const ended = await stripe.subscriptions.retrieve(sub.id);
    expect(ended.status).toBe("canceled");
    expect(ended.ended_at).toBe(utc(2027, 3, 8));
  });

  it("delivers the webhooks of a storm's first renewals while the clock is still advancing, `ready` last", async () => {
    const renewals = 30;
    const receiver = await startReceiver(stripe);
    const endpoint = await stripe.webhookEndpoints.create({ url: receiver.url, enabled_events: ["*"] });
    receiver.setSecret(endpoint.secret!);
    const { clock, price } = await billingSetup(stripe, { frozenTime: utc(2028, 1, 15) });
    await Promise.all(
      Array.from({ length: renewals }, async (_, i) => {
        const customer = await stripe.customers.create({
          email: `storm-${i}@example.com`,
          test_clock: clock!.id,
        });
        const pm = await stripe.paymentMethods.attach("pm_card_visa", { customer: customer.id });
        await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: pm.id } });
        await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
      }),
    );
    await h.emu.flushWebhooks();
    const { webhooks } = h.emu.handle.emulator;
    const deliveriesBefore = webhooks.deliveries.length;
    const receivedBefore = receiver.received.length;
    const stored = h.emu.state.get("test_helpers.test_clock", clock!.id)!;
    // The route's advance, yielding after every renewal (the route yields after each 10 ms of work).
    stored.status = "advancing";
    await runAdvance(h.emu.handle.emulator, stored, utc(2028, 2, 16), 0);
    const readyAt = Date.now();
    await h.emu.flushWebhooks();

    // (Endpoints of the earlier tests, whose receivers are closed, get the storm too.)
    const storm = webhooks.deliveries.slice(deliveriesBefore).filter((d) => d.endpointId === endpoint.id);
    expect(storm.every((d) => d.delivered)).toBe(true);
    // Delivered before the clock was ready: impossible if the advance held the event loop to the end.
    expect(storm.filter((d) => d.deliveredAt! < readyAt).length).toBeGreaterThan(0);
    // `ready` says every object on the clock has advanced: it is the last event the advance creates.
    expect(h.emu.state.values("event").at(-1)!.type).toBe("test_helpers.test_clock.ready");
    const received = receiver.received.slice(receivedBefore).map((r) => r.event.type);
    expect(received.filter((type) => type === "invoice.paid")).toHaveLength(renewals);
    await receiver.close();
  }, 120_000);
});

describe("test clock: objects of an advancing clock refuse writes", () => {
  it("answers 400 invalid_request_error to writes on the clock's objects until it is ready, reads stay allowed", async () => {
    const { clock, customer, price } = await billingSetup(stripe, {
      card: "pm_card_visa",
      frozenTime: utc(2029, 1, 15),
    });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const elsewhere = await billingSetup(stripe, { withClock: false });
    const stored = h.emu.state.get("test_helpers.test_clock", clock!.id)!;
    // Held `advancing` as the advance route leaves it until its work is done (which the route
    // schedules on the next macrotask, too soon to be caught reliably from outside).
    stored.status = "advancing";

    const refusal = (error: unknown) => {
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      const stripeError = error as Stripe.errors.StripeError;
      expect(stripeError.statusCode).toBe(400);
      expect(stripeError.message).toContain(`test clock ${clock!.id}`);
      expect(stripeError.message).toContain("advancing");
      return true;
    };
    const refused = (call: Promise<unknown>) => call.then(() => false, refusal);
    const update = { metadata: { note: "during advance" } };
    const key = `during-advance-${sub.id}`;
    expect(await refused(stripe.subscriptions.update(sub.id, update, { idempotencyKey: key }))).toBe(true);
    expect(await refused(stripe.subscriptions.cancel(sub.id))).toBe(true);
    expect(await refused(stripe.customers.update(customer.id, update))).toBe(true);
    expect(await refused(stripe.customers.del(customer.id))).toBe(true);
    expect(
      await refused(stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] })),
    ).toBe(true);
    expect(await refused(stripe.paymentMethods.attach("pm_card_mastercard", { customer: customer.id }))).toBe(
      true,
    );
    expect(await refused(stripe.invoices.create({ customer: customer.id }))).toBe(true);
    expect(await refused(stripe.customers.create({ email: "late@example.com", test_clock: clock!.id }))).toBe(
      true,
    );
    const invoice = await stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(await refused(stripe.invoices.update(invoice.id, update))).toBe(true);

    // Reads are answered, and objects of no clock (or another) are not held.
    expect((await stripe.subscriptions.retrieve(sub.id)).metadata).toEqual({});
    expect((await stripe.customers.retrieve(customer.id)).id).toBe(customer.id);
    expect((await stripe.invoices.list({ customer: customer.id })).data.length).toBeGreaterThan(0);
    expect((await stripe.customers.update(elsewhere.customer.id, update)).metadata).toEqual(update.metadata);

    await runAdvance(h.emu.handle.emulator, stored, utc(2029, 1, 16), 0);
    expect((await stripe.testHelpers.testClocks.retrieve(clock!.id)).status).toBe("ready");
    // The refusal kept nothing for its idempotency key: the same request now applies.
    const applied = await stripe.subscriptions.update(sub.id, update, { idempotencyKey: key });
    expect(applied.metadata).toEqual(update.metadata);
  });
});
