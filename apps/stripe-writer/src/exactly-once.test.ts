import { buildPriceParams, type Offer } from "@bridge/domain";
import { findOffer } from "@bridge/store";
import { freshDatabase, kafkaBrokers } from "@bridge/testkit";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ChildWriter,
  type Harness,
  hex,
  newOrder,
  newOrderId,
  offers,
  poll,
  seedPaidSubscription,
  spawnWriter,
  startHarness,
} from "../test/harness.ts";

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ brokers: kafkaBrokers(), databaseUrl: await freshDatabase("writer_once") });
});
afterAll(async () => {
  await h?.stop();
});

async function lookupKey(offerId: string): Promise<string> {
  return buildPriceParams((await findOffer(h.store.db, offerId))!.raw as Offer, 0).lookup_key;
}

async function subscriptionsOfOrder(orderId: string): Promise<Stripe.Subscription[]> {
  return (await h.stripe.subscriptions.list({ limit: 100 })).data.filter(
    (s) => s.metadata.limio_order_id === orderId,
  );
}

describe("a redelivered order id with other content", () => {
  it("applies the order recorded first: another action cannot ride on the order's id", async () => {
    const writer = await h.startWriter();
    const paid = await seedPaidSubscription(h, offers.digitalMonthly);
    const first = await h.publishOrder({
      source: "shop",
      order_type: "change_address",
      subscriptionId: paid.subscriptionId,
      type: "billing",
      billingDetails: {
        firstName: "Ada",
        lastName: "King",
        address1: "1 Ockham Park",
        city: "Surrey",
        country: "GB",
      },
    });
    expect(await h.waitForOutcome(first.orderId)).toMatchObject({ status: "applied" });

    // The same order id (same idempotency identity) naming another action, published before the
    // gateway could see the first order's row (decision 008).
    await h.publishOrder(
      { source: "shop", order_type: "cancel_subscription", subscriptionId: paid.subscriptionId },
      { orderId: first.orderId, subscriptionId: paid.subscriptionId },
    );
    const outcomes = await poll(() => {
      const seen = h.seen.outcomes.filter((e) => e.id === `${first.orderId}:outcome`);
      return seen.length >= 2 ? seen : undefined;
    });
    expect(outcomes[1]!.data).toMatchObject({ orderType: "change_address", status: "applied" });
    const sub = await h.stripe.subscriptions.retrieve(paid.stripe.subscriptionId!);
    expect(sub.cancel_at_period_end).toBe(false);
    await writer.stop();
  });
});

describe("an order delivered twice", () => {
  it("is applied once: one customer, price and subscription; outcomes share one id", async () => {
    const writer = await h.startWriter();
    const email = `twice+${hex(6)}@example.com`;
    const pm = await h.card();
    const order = newOrder({
      email,
      offerId: offers.digitalQuarterly,
      payment: { type: "stripe", paymentMethodId: pm },
    });
    const first = await h.publishOrder(order);
    await h.publishEnvelope(first.subscriptionId, first.envelope);
    const outcome = await h.waitForOutcome(first.orderId);
    await poll(
      () => h.seen.outcomes.filter((e) => e.id === `${first.orderId}:outcome`).length >= 2 || undefined,
    );
    expect(outcome.status).toBe("applied");
    expect((await h.stripe.customers.list({ email })).data).toHaveLength(1);
    expect(
      (await h.stripe.prices.list({ lookup_keys: [await lookupKey(offers.digitalQuarterly)] })).data,
    ).toHaveLength(1);
    const subs = await subscriptionsOfOrder(first.orderId);
    expect(subs).toHaveLength(1);
    expect(subs[0]!.status).toBe("active");
    const invoices = await h.stripe.invoices.list({ subscription: subs[0]!.id });
    expect(invoices.data.filter((i) => i.status === "paid")).toHaveLength(1);

    // Every other action, delivered twice: one effect each.
    const upgrade = await seedPaidSubscription(h, offers.digitalMonthly);
    const up = await h.publishOrder({
      source: "shop",
      order_type: "change_offer",
      subscriptionId: upgrade.subscriptionId,
      offer: { id: offers.printDigitalMonthlyRecurring },
    });
    await h.publishEnvelope(up.subscriptionId, up.envelope);
    await h.waitForOutcome(up.orderId);
    await poll(
      () => h.seen.outcomes.filter((e) => e.id === `${up.orderId}:outcome`).length >= 2 || undefined,
    );
    const upInvoices = await h.stripe.invoices.list({ subscription: upgrade.stripe.subscriptionId! });
    expect(upInvoices.data).toHaveLength(2); // the first one and one proration invoice, not two

    const down = await seedPaidSubscription(h, offers.digitalMonthly);
    const dn = await h.publishOrder({
      source: "shop",
      order_type: "change_offer",
      subscriptionId: down.subscriptionId,
      offer: { id: offers.digitalAnnual },
    });
    await h.publishEnvelope(dn.subscriptionId, dn.envelope);
    await h.waitForOutcome(dn.orderId);
    await poll(
      () => h.seen.outcomes.filter((e) => e.id === `${dn.orderId}:outcome`).length >= 2 || undefined,
    );
    const schedules = await h.stripe.subscriptionSchedules.list({ limit: 100 });
    expect(schedules.data.filter((s) => s.subscription === down.stripe.subscriptionId)).toHaveLength(1);

    const si = await h.publishOrder({
      source: "shop",
      order_type: "change_payment",
      subscriptionId: down.subscriptionId,
    });
    await h.publishEnvelope(si.subscriptionId, si.envelope);
    await h.waitForOutcome(si.orderId);
    await poll(
      () => h.seen.outcomes.filter((e) => e.id === `${si.orderId}:outcome`).length >= 2 || undefined,
    );
    const intents = await h.stripe.setupIntents.list({ customer: down.stripe.customerId!, limit: 100 });
    expect(intents.data.filter((s) => s.metadata?.limio_order_id === si.orderId)).toHaveLength(1);
    await writer.stop(); // the kill tests below run the writer as a child process
  }, 90_000);
});

/**
 * The writer as a child process, SIGKILLed by its test-only switch at each kill point of an
 * order in turn: every restart resumes the same order and dies at the next point, the last run
 * finishes it. Each boot uses a new consumer group (reads the topic from the start), so the
 * restart does not wait for the dead member's session to expire; older orders replay harmlessly.
 */
async function killChain(orderId: string, points: string[]): Promise<{ kills: string[] }> {
  const kills: string[] = [];
  for (const point of points) {
    const child: ChildWriter = await spawnWriter(
      h.env({ WRITER_CRASH_AT: point, KAFKA_GROUP_ID: `kill-${hex(8)}` }),
    );
    const finished = poll(() => h.seen.outcomes.some((e) => e.id === `${orderId}:outcome`) || undefined, {
      timeoutMs: 60_000,
    }).then(() => "finished" as const);
    const result = await Promise.race([child.exited.then((e) => e), finished]);
    if (result === "finished") {
      await child.stop();
      throw new Error(`kill point ${point} was never reached; output:\n${child.output()}`);
    }
    expect(result.signal, `${point}: ${child.output()}`).toBe("SIGKILL");
    kills.push(point);
  }
  const last = await spawnWriter(h.env({ KAFKA_GROUP_ID: `kill-${hex(8)}` }));
  try {
    await h.waitForOutcome(orderId, { timeoutMs: 60_000 });
  } finally {
    await last.stop();
  }
  return { kills };
}

const both = (steps: string[]) => steps.flatMap((s) => [`${s}:before-record`, `${s}:after-record`]);

describe("the writer SIGKILLed after each step and restarted", () => {
  it("new: exactly one customer, price and subscription, paid once", async () => {
    const email = `killed+${hex(6)}@example.com`;
    const orderId = newOrderId();
    const points = both(["plan", "customer", "product", "price.0", "subscription", "payment"]);
    await h.publishOrder(
      newOrder({
        email,
        offerId: offers.digitalAnnual,
        payment: { type: "stripe", paymentMethodId: await h.card() },
      }),
      { orderId },
    );
    const { kills } = await killChain(orderId, points);
    expect(kills).toEqual(points);
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome.status).toBe("applied");
    expect((await h.stripe.customers.list({ email })).data).toHaveLength(1);
    expect(
      (await h.stripe.prices.list({ lookup_keys: [await lookupKey(offers.digitalAnnual)] })).data,
    ).toHaveLength(1);
    const subs = await subscriptionsOfOrder(orderId);
    expect(subs).toHaveLength(1);
    expect(subs[0]!.status).toBe("active");
    expect(subs[0]!.items.data[0]!.price.unit_amount).toBe(9900);
    const invoices = await h.stripe.invoices.list({ subscription: subs[0]!.id });
    expect(invoices.data).toHaveLength(1);
    expect(invoices.data[0]!.status).toBe("paid");
  }, 400_000);

  it("new for an existing customer: the method attached and the details updated once", async () => {
    const email = `existing+${hex(6)}@example.com`;
    const existing = await h.stripe.customers.create({ email });
    const pm = await h.card();
    const orderId = newOrderId();
    await h.publishOrder(newOrder({ email, payment: { type: "stripe", paymentMethodId: pm } }), { orderId });
    await killChain(
      orderId,
      both(["customer", "payment-method", "customer-update", "subscription", "payment"]),
    );
    expect((await h.waitForOutcome(orderId)).stripe.customerId).toBe(existing.id);
    expect((await h.stripe.customers.list({ email })).data).toHaveLength(1);
    const customer = (await h.stripe.customers.retrieve(existing.id)) as Stripe.Customer;
    expect(customer.invoice_settings.default_payment_method).toBe(pm);
    expect(customer.address?.line1).toBe("12 St James's Square");
    const subs = await subscriptionsOfOrder(orderId);
    expect(subs).toHaveLength(1);
    expect(subs[0]!.status).toBe("active");
  }, 400_000);

  it("change_offer upgrade, downgrade, cancel, change_address, change_payment: one effect each", async () => {
    // upgrade
    const upSub = await seedPaidSubscription(h, offers.digitalMonthly);
    const upId = newOrderId();
    await h.publishOrder(
      {
        source: "shop",
        order_type: "change_offer",
        subscriptionId: upSub.subscriptionId,
        offer: { id: offers.printDigitalMonthlyRecurring },
      },
      { orderId: upId },
    );
    await killChain(upId, both(["plan", "product", "price.0", "swap", "settled", "metadata"]));
    const upgraded = await h.stripe.subscriptions.retrieve(upSub.stripe.subscriptionId!);
    expect(upgraded.items.data).toHaveLength(1);
    expect(upgraded.items.data[0]!.price.unit_amount).toBe(2499);
    expect((await h.stripe.invoices.list({ subscription: upgraded.id })).data).toHaveLength(2);

    // downgrade, then cancel (releases the schedule)
    const dnSub = await seedPaidSubscription(h, offers.digitalMonthly);
    const dnId = newOrderId();
    await h.publishOrder(
      {
        source: "shop",
        order_type: "change_offer",
        subscriptionId: dnSub.subscriptionId,
        offer: { id: offers.digitalAnnual },
      },
      { orderId: dnId },
    );
    await killChain(dnId, both(["plan", "product", "price.0", "schedule", "schedule-phases"]));
    const schedules = (await h.stripe.subscriptionSchedules.list({ limit: 100 })).data.filter(
      (s) => s.subscription === dnSub.stripe.subscriptionId,
    );
    expect(schedules).toHaveLength(1);
    expect(schedules[0]!.phases).toHaveLength(2);
    expect(schedules[0]!.end_behavior).toBe("release");

    // Killed after releasing the schedule but before recording it, the restart sees no schedule
    // any more (the subscription is re-read) and goes straight to the cancel: release-schedule's
    // after-record point is reached in a second cancellation of its own.
    const cancelId = newOrderId();
    await h.publishOrder(
      { source: "shop", order_type: "cancel_subscription", subscriptionId: dnSub.subscriptionId },
      { orderId: cancelId },
    );
    await killChain(cancelId, [
      "release-schedule:before-record",
      "cancel:before-record",
      "cancel:after-record",
    ]);
    const cancelled = await h.stripe.subscriptions.retrieve(dnSub.stripe.subscriptionId!);
    expect(cancelled.cancel_at_period_end).toBe(true);
    expect(cancelled.schedule).toBeNull();
    expect(cancelled.status).toBe("active");
    const withSchedule = await seedPaidSubscription(h, offers.digitalMonthly);
    const attached = await h.stripe.subscriptionSchedules.create({
      from_subscription: withSchedule.stripe.subscriptionId!,
    });
    const cancel2Id = newOrderId();
    await h.publishOrder(
      { source: "shop", order_type: "cancel_subscription", subscriptionId: withSchedule.subscriptionId },
      { orderId: cancel2Id },
    );
    await killChain(cancel2Id, ["release-schedule:after-record"]);
    expect((await h.stripe.subscriptionSchedules.retrieve(attached.id)).status).toBe("released");
    expect(
      (await h.stripe.subscriptions.retrieve(withSchedule.stripe.subscriptionId!)).cancel_at_period_end,
    ).toBe(true);

    // change_address
    const addrId = newOrderId();
    await h.publishOrder(
      {
        source: "shop",
        order_type: "change_address",
        subscriptionId: upSub.subscriptionId,
        type: "billing",
        address: { address1: "2 Kill Street", city: "York", country: "GB" },
      },
      { orderId: addrId },
    );
    await killChain(addrId, both(["customer"]));
    const customer = (await h.stripe.customers.retrieve(upSub.stripe.customerId!)) as Stripe.Customer;
    expect(customer.address?.line1).toBe("2 Kill Street");

    // change_payment with a confirmed PaymentMethod
    const payId = newOrderId();
    const pm = await h.card("tok_mastercard");
    await h.publishOrder(
      {
        source: "shop",
        order_type: "change_payment",
        subscriptionId: upSub.subscriptionId,
        payment: { type: "stripe", paymentMethodId: pm },
      },
      { orderId: payId },
    );
    await killChain(
      payId,
      both(["payment-method", "customer-default", "subscription-default", "open-invoice"]),
    );
    const afterPay = (await h.stripe.customers.retrieve(upSub.stripe.customerId!)) as Stripe.Customer;
    expect(afterPay.invoice_settings.default_payment_method).toBe(pm);
    expect((await h.stripe.subscriptions.retrieve(upSub.stripe.subscriptionId!)).default_payment_method).toBe(
      pm,
    );
    for (const id of [upId, dnId, cancelId, cancel2Id, addrId, payId]) {
      expect((await h.waitForOutcome(id)).status, id).toBe("applied");
    }
  }, 900_000);
});
