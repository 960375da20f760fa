import { findOrder } from "@bridge/store";
import { freshDatabase, kafkaBrokers } from "@bridge/testkit";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  finalOrder,
  type Harness,
  hex,
  newOrder,
  newSubscriptionId,
  offers,
  poll,
  startHarness,
} from "../test/harness.ts";
import type { WriterService } from "./wiring.ts";

let h: Harness;
let writer: WriterService;

beforeAll(async () => {
  h = await startHarness({ brokers: kafkaBrokers(), databaseUrl: await freshDatabase("writer_new") });
  writer = await h.startWriter();
});
afterAll(async () => {
  await h?.stop();
});

describe("new order through Kafka", () => {
  it("creates customer, product, price and an active subscription paid with the order's PaymentMethod", async () => {
    const { orderId, subscriptionId, envelope } = await h.publishOrder(
      newOrder({
        email: "Ada.Lovelace@Example.com",
        payment: { type: "stripe", paymentMethodId: await h.card() },
      }),
    );
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({
      orderId,
      subscriptionId,
      orderType: "new",
      status: "applied",
      action: "subscription_created",
    });
    expect(outcome.clientSecret).toBeUndefined();

    const customer = (await h.stripe.customers.retrieve(outcome.stripe.customerId!)) as Stripe.Customer;
    expect(customer.email).toBe("ada.lovelace@example.com");
    expect(customer.name).toBe("Ada Lovelace");
    expect(customer.phone).toBe("+44 20 7946 0000");
    expect(customer.address).toMatchObject({
      line1: "12 St James's Square",
      city: "London",
      postal_code: "SW1Y 4LB",
      country: "GB",
    });
    expect(customer.shipping).toMatchObject({
      name: "Ada Lovelace",
      address: { line1: "1 Printing House Yard", postal_code: "E2 7PR" },
    });
    expect(customer.metadata).toMatchObject({
      limio_order_id: orderId,
      limio_subscription_id: subscriptionId,
      limio_source: "shop",
    });
    expect(customer.invoice_settings.default_payment_method).toMatch(/^pm_/);

    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!, {
      expand: ["latest_invoice"],
    });
    expect(sub.status).toBe("active");
    expect(sub.metadata).toMatchObject({
      limio_order_id: orderId,
      limio_subscription_id: subscriptionId,
      limio_source: "shop",
      limio_offer_id: offers.digitalMonthly,
    });
    expect(sub.items.data).toHaveLength(1);
    expect(sub.items.data[0]!.price).toMatchObject({
      unit_amount: 999,
      currency: "gbp",
      product: "prod_LedgerDigital01",
      recurring: { interval: "month", interval_count: 1 },
    });
    expect((sub.latest_invoice as Stripe.Invoice).status).toBe("paid");
    const product = await h.stripe.products.retrieve("prod_LedgerDigital01");
    expect(product.metadata.limio_order_id).toBe(orderId);

    // Order row: applied, outcome stored; the outcome (deterministic id) is the only message that
    // tells the sync the order was applied: no second sync request follows it.
    const row = await finalOrder(h.store, orderId);
    expect(row.status).toBe("applied");
    expect((row.outcome as { action: string }).action).toBe("subscription_created");
    const published = await poll(() => h.seen.outcomes.find((e) => e.id === `${orderId}:outcome`), {
      what: "the order outcome",
    });
    expect(published?.data).toMatchObject({ subscriptionId, orderId, status: "applied" });
    expect(published?.correlationId).toBe(envelope.correlationId);
    expect(published?.causationId).toBe(envelope.id);
    expect(await h.syncRequestsAfterOrdersHandled()).toBe(0);

    // Every write carried the step's idempotency key.
    const log = (await (await fetch(`${h.emu.url}/_emulator/requests`)).json()) as {
      data: { method: string; path: string; idempotencyKey: string | null }[];
    };
    const writes = log.data.filter((r) => r.method === "POST" && r.idempotencyKey?.includes(orderId));
    expect(writes.map((r) => r.idempotencyKey).sort()).toEqual(
      [
        `limio:${orderId}:customer`,
        `limio:${orderId}:payment`,
        `limio:${orderId}:price.0`,
        `limio:${orderId}:product`,
        `limio:${orderId}:subscription`,
      ].sort(),
    );
  });

  it("matches the customer by email, reuses the price and waits for the customer without payment details", async () => {
    const first = await h.waitForOutcome(
      (
        await h.publishOrder(
          newOrder({
            email: "grace@example.com",
            payment: { type: "stripe", paymentMethodId: await h.card() },
          }),
        )
      ).orderId,
    );
    const before = await h.stripe.prices.list({ lookup_keys: [], limit: 100 });
    const { orderId } = await h.publishOrder(newOrder({ email: "GRACE@example.com" }));
    const outcome = await h.waitForOutcome(orderId);
    // Nothing paid yet: the order waits for the shop to confirm the first invoice (decision 018).
    expect(outcome.status).toBe("requires_action");
    expect(outcome.stripe.customerId).toBe(first.stripe.customerId);
    expect(outcome.clientSecret?.type).toBe("invoice_confirmation_secret");
    expect(outcome.clientSecret?.value).toMatch(/_secret_/);
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    expect(sub.status).toBe("incomplete");
    const firstSub = await h.stripe.subscriptions.retrieve(first.stripe.subscriptionId!);
    expect(sub.items.data[0]!.price.id).toBe(firstSub.items.data[0]!.price.id);
    const after = await h.stripe.prices.list({ limit: 100 });
    expect(after.data.length).toBe(before.data.length);
    const customers = await h.stripe.customers.list({ email: "grace@example.com" });
    expect(customers.data).toHaveLength(1);
    // The stored outcome never holds the secret.
    const row = await findOrder(h.store.db, orderId);
    expect(JSON.stringify(row?.outcome)).not.toContain("_secret_");
  });

  it("attaches a PaymentIntent from the order to the first invoice", async () => {
    // Stripe credits an invoice only with a PaymentIntent of its customer (decision 018).
    const customer = await h.stripe.customers.create({ email: "pi@example.com" });
    const pi = await h.stripe.paymentIntents.create({
      customer: customer.id,
      amount: 2700,
      currency: "gbp",
      payment_method: await h.card(),
      confirm: true,
    });
    const { orderId } = await h.publishOrder(
      newOrder({
        email: "pi@example.com",
        offerId: offers.digitalQuarterly,
        payment: { type: "stripe", stripe: { result: { paymentIntent: pi.id } } },
      }),
    );
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({ status: "applied", stripe: { paymentIntentId: pi.id } });
    const invoice = await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!);
    expect(invoice.status).toBe("paid");
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    expect(sub.status).toBe("active");
  });

  it("fails with card_declined and leaves the subscription incomplete", async () => {
    const { orderId } = await h.publishOrder(
      newOrder({
        email: "declined@example.com",
        // Stripe refuses to attach a declining card; this one attaches and its charges fail.
        payment: { type: "stripe", paymentMethodId: "pm_card_chargeCustomerFail" },
      }),
    );
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome.status).toBe("failed");
    expect(outcome.error?.code).toBe("card_declined");
    expect(outcome.stripe.subscriptionId).toMatch(/^sub_/);
    const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!);
    expect(sub.status).toBe("incomplete");
    expect((await findOrder(h.store.db, orderId))?.status).toBe("failed");
  });

  it("pays with Stripe's test shortcut ids (pm_card_visa), which attach as a new PaymentMethod", async () => {
    // A new customer, and one that already exists in Stripe (matched by email, card attached).
    const existing = `shortcut.existing.${Date.now()}@example.com`;
    await h.stripe.customers.create({ email: existing });
    for (const email of [`shortcut.new.${Date.now()}@example.com`, existing]) {
      const { orderId } = await h.publishOrder(
        newOrder({ email, payment: { type: "stripe", paymentMethodId: "pm_card_visa" } }),
      );
      const outcome = await h.waitForOutcome(orderId);
      expect(outcome, email).toMatchObject({ status: "applied" });
      const sub = await h.stripe.subscriptions.retrieve(outcome.stripe.subscriptionId!, {
        expand: ["default_payment_method"],
      });
      expect(sub.status, email).toBe("active");
      expect((sub.default_payment_method as { card?: { last4?: string } }).card?.last4).toBe("4242");
    }
  });

  it("skips orders whose source is stripe without calling Stripe", async () => {
    await fetch(`${h.emu.url}/_emulator/requests`, { method: "DELETE" });
    const { orderId } = await h.publishOrder(newOrder({ email: "loop@example.com", source: "stripe" }));
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({ status: "skipped", action: "none" });
    const log = (await (await fetch(`${h.emu.url}/_emulator/requests`)).json()) as { data: unknown[] };
    expect(log.data).toHaveLength(0);
  });

  it("refuses an order whose total differs from what Stripe would bill today, naming total, before any write", async () => {
    const email = `total.${Date.now()}@example.com`;
    const { orderId } = await h.publishOrder(
      newOrder({
        email,
        offerId: offers.printDigitalMonthly, // £24.99 / month + £4.99 once: £29.98 today
        payment: { type: "stripe", paymentMethodId: await h.card() },
        extra: { total: { amount: "24.99", currency: "GBP" } },
      }),
    );
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({ status: "failed", error: { code: "unsupported_field" } });
    expect(outcome.error?.message).toMatch(/^total: .*24\.99 GBP.*29\.98 GBP/);
    const log = (await (await fetch(`${h.emu.url}/_emulator/requests`)).json()) as {
      data: { method: string; idempotencyKey: string | null }[];
    };
    expect(log.data.filter((r) => r.method === "POST" && r.idempotencyKey?.includes(orderId))).toEqual([]);
    expect((await h.stripe.customers.list({ email })).data).toEqual([]);

    // The same order with the right total is applied, and Stripe bills exactly that total.
    const right = await h.publishOrder(
      newOrder({
        email,
        offerId: offers.printDigitalMonthly,
        payment: { type: "stripe", paymentMethodId: await h.card() },
        extra: { total: { amount: "29.98", currency: "GBP" } },
      }),
    );
    const applied = await h.waitForOutcome(right.orderId);
    expect(applied).toMatchObject({ status: "applied" });
    expect((await h.stripe.invoices.retrieve(applied.stripe.invoiceId!)).amount_paid).toBe(2998);
  });

  it("fails an order for an offer not in the catalog", async () => {
    const { orderId } = await h.publishOrder(
      newOrder({ email: "nooffer@example.com", offerId: "no-such-offer" }),
    );
    const outcome = await h.waitForOutcome(orderId);
    expect(outcome).toMatchObject({ status: "failed", error: { code: "offer_not_found" } });
    expect(writer).toBeDefined();
  });
  it("a second order carrying another order's order_reference fails by name and bills nothing (both reached Kafka before the gateway saw either)", async () => {
    const order_reference = `R${Date.now().toString(36).toUpperCase()}`.padEnd(12, "0").slice(0, 12);
    const pay = async () => ({ type: "stripe", paymentMethodId: await h.card() });
    const first = await h.publishOrder(
      newOrder({ email: "ref.first@example.com", payment: await pay(), extra: { order_reference } }),
    );
    expect((await h.waitForOutcome(first.orderId)).status).toBe("applied");

    const second = await h.publishOrder(
      newOrder({ email: "ref.second@example.com", payment: await pay(), extra: { order_reference } }),
    );
    const outcome = await h.waitForOutcome(second.orderId);
    expect(outcome).toMatchObject({
      status: "failed",
      error: { code: "reference_taken", message: expect.stringContaining(order_reference) },
    });
    // Recorded (GET shows why) under a reference of its own; nothing of it in Stripe.
    const row = await findOrder(h.store.db, second.orderId);
    expect(row?.reference).not.toBe(order_reference);
    expect((await h.stripe.customers.list({ email: "ref.second@example.com" })).data).toEqual([]);

    // Delivered again (at-least-once): the row it was failed under does not make it billable.
    await h.publishOrder(
      newOrder({ email: "ref.second@example.com", payment: await pay(), extra: { order_reference } }),
      { orderId: second.orderId, subscriptionId: second.subscriptionId },
    );
    await poll(
      () => h.seen.outcomes.filter((o) => o.data.orderId === second.orderId).length >= 2 || undefined,
      {
        what: "the redelivered order's outcome",
      },
    );
    expect(
      h.seen.outcomes.filter((o) => o.data.orderId === second.orderId).map((o) => o.data.status),
    ).toEqual(["failed", "failed"]);
    expect((await h.stripe.customers.list({ email: "ref.second@example.com" })).data).toEqual([]);
  });

  it("a new order carrying an existing subscription's id fails by name before any Stripe call, and one carrying another recorded order's", async () => {
    const pay = async () => ({ type: "stripe", paymentMethodId: await h.card() });
    // Held by a Limio subscription (the sync linked it): without the check, a second paid Stripe
    // subscription would be stamped with that Limio id and never linked.
    const existing = await h.subscribe("carried.holder@example.com", offers.digitalMonthly);
    const onSubscription = await h.publishOrder(
      newOrder({
        email: "carried.second@example.com",
        payment: await pay(),
        extra: { subscriptionId: existing.subscriptionId },
      }),
    );
    expect(onSubscription.subscriptionId).toBe(existing.subscriptionId);
    expect(await h.waitForOutcome(onSubscription.orderId)).toMatchObject({
      status: "failed",
      action: "none",
      stripe: {},
      error: {
        code: "subscription_exists",
        message: expect.stringContaining(`subscription ${existing.subscriptionId}`),
      },
    });
    expect((await h.stripe.customers.list({ email: "carried.second@example.com" })).data).toEqual([]);

    // Held by an order the sync has not applied yet (no subscription row): the later one fails.
    const subscriptionId = newSubscriptionId();
    const first = await h.publishOrder(
      newOrder({ email: "carried.first@example.com", payment: await pay(), extra: { subscriptionId } }),
    );
    expect((await h.waitForOutcome(first.orderId)).status).toBe("applied");
    const second = await h.publishOrder(
      newOrder({ email: "carried.third@example.com", payment: await pay(), extra: { subscriptionId } }),
    );
    expect(await h.waitForOutcome(second.orderId)).toMatchObject({
      status: "failed",
      error: { code: "subscription_exists", message: expect.stringContaining(`order ${first.orderId}`) },
    });
    expect((await h.stripe.customers.list({ email: "carried.third@example.com" })).data).toEqual([]);

    // The first, delivered again, is still applied: the other order recorded since does not refuse it.
    await h.publishOrder((first.envelope.data as { order: Record<string, unknown> }).order, first);
    await poll(
      () => h.seen.outcomes.filter((o) => o.data.orderId === first.orderId).length >= 2 || undefined,
      { what: "the redelivered first order's outcome" },
    );
    expect(h.seen.outcomes.filter((o) => o.data.orderId === first.orderId).map((o) => o.data.status)).toEqual(
      ["applied", "applied"],
    );
  });

  it("a failed new order holds neither its subscription id nor its sub_reference: the checkout retried under a new order id goes through", async () => {
    const subscriptionId = newSubscriptionId();
    const sub_reference = hex(12).toUpperCase();
    const declined = await h.publishOrder(
      newOrder({
        email: "retried.checkout@example.com",
        payment: { type: "stripe", paymentMethodId: "pm_card_chargeCustomerFail" },
        extra: { subscriptionId, sub_reference },
      }),
    );
    expect((await h.waitForOutcome(declined.orderId)).error?.code).toBe("card_declined");
    const retried = await h.publishOrder(
      newOrder({
        email: "retried.checkout@example.com",
        payment: { type: "stripe", paymentMethodId: await h.card() },
        extra: { subscriptionId, sub_reference },
      }),
    );
    expect(retried.orderId).not.toBe(declined.orderId);
    expect((await h.waitForOutcome(retried.orderId)).status).toBe("applied");
  });

  it("a new order carrying another's sub_reference fails by name and bills nothing (the sync could never store it)", async () => {
    const pay = async () => ({ type: "stripe", paymentMethodId: await h.card() });
    // Held by a recorded order whose subscription the sync has not created yet.
    const sub_reference = hex(12).toUpperCase();
    const first = await h.publishOrder(
      newOrder({ email: "subref.first@example.com", payment: await pay(), extra: { sub_reference } }),
    );
    expect((await h.waitForOutcome(first.orderId)).status).toBe("applied");
    const second = await h.publishOrder(
      newOrder({ email: "subref.second@example.com", payment: await pay(), extra: { sub_reference } }),
    );
    expect(await h.waitForOutcome(second.orderId)).toMatchObject({
      status: "failed",
      action: "none",
      error: {
        code: "reference_taken",
        message: expect.stringMatching(
          new RegExp(`sub_reference '${sub_reference}'.*order ${first.orderId}`),
        ),
      },
    });
    expect((await h.stripe.customers.list({ email: "subref.second@example.com" })).data).toEqual([]);

    // Held by a Limio subscription.
    const linked = await h.subscribe("subref.holder@example.com", offers.digitalMonthly);
    const held = await h.store.db.subscription.findUniqueOrThrow({ where: { id: linked.subscriptionId } });
    const third = await h.publishOrder(
      newOrder({
        email: "subref.third@example.com",
        payment: await pay(),
        extra: { sub_reference: held.reference },
      }),
    );
    expect(await h.waitForOutcome(third.orderId)).toMatchObject({
      status: "failed",
      error: { code: "reference_taken", message: expect.stringContaining(`subscription ${held.id}`) },
    });
    expect((await h.stripe.customers.list({ email: "subref.third@example.com" })).data).toEqual([]);
  });
});
