// Strong Customer Authentication end to end through real Kafka (issue 11 acceptance 2 and 3,
// decision 018): the writer and the sync run in process on this run's broker and database, the
// Stripe emulator plays Stripe and its 3-D Secure test page, and delivers its events as Stripe
// does, signed, to the gateway's webhook route, which publishes them on the stripe-events topic.
import { randomBytes } from "node:crypto";
import { freePorts } from "@bridge/local-infra";
import { freshDatabase, kafkaBrokers } from "@bridge/local-infra/testing";
import { consumerLag } from "@bridge/messaging";
import { createLogger, createMetrics } from "@bridge/observability";
import { type RunningSyncConsumer, startSyncConsumer } from "@bridge/sync-consumer";
import type { FastifyInstance } from "fastify";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGateway } from "../../apps/ingest-gateway/src/app.ts";
import { bearer, keys, testConfig, webhookSecrets } from "../../apps/ingest-gateway/test/support.ts";
import {
  type Harness,
  hex,
  newOrder,
  newSubscriptionId,
  offers,
  poll,
  startHarness,
} from "../../apps/stripe-writer/test/harness.ts";

let h: Harness;
let sync: RunningSyncConsumer;
let gateway: FastifyInstance;
let webhookUrl: string;
/** The writer seals a waiting order's secret with it; the gateway's GET opens it (decision 018). */
const ORDER_SECRET_KEY = randomBytes(32).toString("base64");
const writerMetrics = createMetrics("stripe-writer", { defaultMetrics: false });

beforeAll(async () => {
  const [port] = (await freePorts(1)) as [number];
  webhookUrl = `http://127.0.0.1:${port}/webhooks/stripe`;
  h = await startHarness({
    brokers: kafkaBrokers(),
    databaseUrl: await freshDatabase("e2e_sca"),
    // The emulator's webhook endpoint is the gateway, with the secret the gateway verifies.
    emulator: {
      webhook: { url: webhookUrl, secret: webhookSecrets.current },
      webhookDelivery: { maxAttempts: 8, backoffMs: 50 },
    },
  });
  await h.startWriter({ env: { ORDER_SECRET_KEY }, metrics: writerMetrics });
  gateway = await buildGateway({
    config: testConfig({ ORDER_SECRET_KEY }),
    logger: createLogger("sca-gateway", { level: "silent" }),
    producer: h.producer,
    store: h.store,
    topics: {
      orders: h.topics.orders,
      stripeEvents: h.topics.stripeEvents,
      orderOutcomes: h.topics.orderOutcomes,
    },
  });
  await gateway.listen({ port, host: "127.0.0.1" });
  sync = await startSyncConsumer({
    kafka: h.kafka,
    store: h.store,
    stripe: h.stripe,
    logger: createLogger("sca-sync", { level: process.env.TEST_LOG_LEVEL ?? "silent" }),
    registry: createMetrics("sync-consumer", { defaultMetrics: false }).registry,
    groupId: `sync-${h.prefix}`,
    topics: {
      stripeEvents: h.topics.stripeEvents,
      orderOutcomes: h.topics.orderOutcomes,
      sync: `${h.prefix}limio.sync.v1`,
    },
    retry: { baseDelayMs: 50, retryTopicDelayMs: 200 },
    exit: (code) => {
      throw new Error(`sync-consumer exited ${code}`);
    },
  });
});
afterAll(async () => {
  await gateway?.close();
  await sync?.stop();
  await h?.stop();
});

/**
 * Every webhook delivery the emulator has to make is done, and the gateway accepted each one
 * (2xx after its signature check and its publish to Kafka).
 */
async function stripeEventsDelivered(): Promise<{ eventId: string }[]> {
  await h.emu.flushWebhooks();
  const { data } = (await (await fetch(`${h.emu.url}/_emulator/webhooks/deliveries`)).json()) as {
    data: { eventId: string; delivered: boolean; lastStatus: number | null }[];
  };
  expect(data.length).toBeGreaterThan(0);
  expect(data.filter((d) => !d.delivered)).toEqual([]);
  return data;
}

/** Stripe redelivers (at-least-once): the same events again, signed, to the same route. */
async function redeliver(eventIds: string[]): Promise<void> {
  for (const id of eventIds) {
    const payload = JSON.stringify(await h.stripe.events.retrieve(id), null, 2);
    const res = await fetch(webhookUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "stripe-signature": h.stripe.webhooks.generateTestHeaderString({
          payload,
          secret: webhookSecrets.current,
        }),
      },
      body: payload,
    });
    expect(res.status).toBe(200);
  }
}

/** The customer on Stripe's 3-D Secure test page: Complete or Fail. */
async function authenticate(paymentIntentId: string, outcome: "succeed" | "fail") {
  const res = await fetch(`${h.emu.url}/_emulator/payment_intents/${paymentIntentId}/authenticate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ outcome }),
  });
  expect(res.status).toBe(200);
}

const limioSubscription = (id: string) => h.store.db.subscription.findUnique({ where: { id } });

async function newOrderNeedingAuthentication(email: string) {
  const { orderId, subscriptionId } = await h.publishOrder(
    newOrder({ email, payment: { type: "stripe", paymentMethodId: "pm_card_authenticationRequired" } }),
  );
  const waiting = await h.waitForOutcome(orderId);
  return { orderId, subscriptionId, waiting };
}

describe("a new order whose card requires authentication", () => {
  it("ends requires_action with the invoice's confirmation secret; completing 3-D Secure applies it and Limio shows it active", async () => {
    const { orderId, subscriptionId, waiting } = await newOrderNeedingAuthentication(
      `sca.ok.${hex(6)}@example.com`,
    );
    expect(waiting).toMatchObject({
      status: "requires_action",
      action: "payment_pending",
      clientSecret: { type: "invoice_confirmation_secret" },
    });
    const invoice = await h.stripe.invoices.retrieve(waiting.stripe.invoiceId!, {
      expand: ["confirmation_secret"],
    });
    expect(waiting.clientSecret?.value).toBe(invoice.confirmation_secret?.client_secret);
    expect(invoice.status).toBe("open");
    expect((await h.stripe.subscriptions.retrieve(waiting.stripe.subscriptionId!)).status).toBe("incomplete");
    expect((await h.store.db.order.findUnique({ where: { id: orderId } }))?.status).toBe("requires_action");
    // Not applied, so not in Limio yet.
    expect(await limioSubscription(subscriptionId)).toBeNull();

    await authenticate(waiting.stripe.paymentIntentId!, "succeed");
    await stripeEventsDelivered();
    const done = await h.waitForOutcome(orderId, { id: `${orderId}:payment:outcome` });
    expect(done).toMatchObject({
      status: "applied",
      action: "subscription_created",
      stripe: { subscriptionId: waiting.stripe.subscriptionId, invoiceId: waiting.stripe.invoiceId },
    });
    expect(done.clientSecret).toBeUndefined();
    expect((await h.stripe.subscriptions.retrieve(waiting.stripe.subscriptionId!)).status).toBe("active");
    const limio = await poll(
      async () => {
        const sub = await limioSubscription(subscriptionId);
        return sub?.status === "active" ? sub : undefined;
      },
      { what: "the Limio subscription to be active" },
    );
    expect(limio.stripeSubscriptionId).toBe(waiting.stripe.subscriptionId);
    expect((await h.store.db.order.findUnique({ where: { id: orderId } }))?.status).toBe("applied");
    // Stripe delivers at least once: every event again, and the order still finished once.
    await redeliver((await stripeEventsDelivered()).map((d) => d.eventId));
    await poll(
      async () =>
        (await consumerLag(h.kafka, `writer-${h.prefix}`, [h.topics.stripeEvents])).every((p) => p.lag === 0),
      { what: "the writer to handle the redelivered events" },
    );
    expect(
      h.seen.outcomes.filter((e) => e.id === `${orderId}:payment:outcome`).length,
    ).toBeGreaterThanOrEqual(1);
    const finals = new Set(
      h.seen.outcomes.filter((e) => e.id === `${orderId}:payment:outcome`).map((e) => e.data.status),
    );
    expect([...finals]).toEqual(["applied"]);
  });

  it("failing 3-D Secure fails the order by name and leaves nothing active in Limio", async () => {
    const { orderId, subscriptionId, waiting } = await newOrderNeedingAuthentication(
      `sca.ko.${hex(6)}@example.com`,
    );
    expect(waiting.status).toBe("requires_action");
    await authenticate(waiting.stripe.paymentIntentId!, "fail");
    await stripeEventsDelivered();
    const done = await h.waitForOutcome(orderId, { id: `${orderId}:payment:outcome` });
    expect(done).toMatchObject({
      status: "failed",
      error: { code: "payment_intent_authentication_failure" },
      stripe: { invoiceId: waiting.stripe.invoiceId, paymentIntentId: waiting.stripe.paymentIntentId },
    });
    expect((await h.stripe.invoices.retrieve(waiting.stripe.invoiceId!)).status).toBe("open");
    await poll(
      async () => (await h.store.db.order.findUnique({ where: { id: orderId } }))?.status === "failed",
    );
    const limio = await limioSubscription(subscriptionId);
    expect(limio?.status ?? "absent").not.toBe("active");
  });

  it("without payment details: requires_action with the confirmation secret, never applied unpaid", async () => {
    const { orderId } = await h.publishOrder(newOrder({ email: `sca.none.${hex(6)}@example.com` }));
    const waiting = await h.waitForOutcome(orderId);
    expect(waiting).toMatchObject({
      status: "requires_action",
      clientSecret: { type: "invoice_confirmation_secret" },
    });
    expect(waiting.clientSecret?.value).toMatch(/_secret_/);
  });
});

describe("GET /api/orders/{id} while the order waits for the customer (issue 13 #1)", () => {
  const getOrder = async (orderId: string) => {
    const res = await gateway.inject({
      method: "GET",
      url: `/api/orders/${orderId}`,
      headers: bearer(keys.reader),
    });
    expect(res.statusCode).toBe(200);
    return res.json() as { status: string; clientSecret?: { type: string; value: string }; outcome: unknown };
  };

  it("exposes the confirmation secret until the payment is confirmed, never stored in plain text", async () => {
    const { orderId, waiting } = await newOrderNeedingAuthentication(`sca.get.${hex(6)}@example.com`);
    const secret = waiting.clientSecret!.value;
    const waitingView = await getOrder(orderId);
    expect(waitingView).toMatchObject({
      status: "requires_action",
      clientSecret: { type: "invoice_confirmation_secret", value: secret },
    });
    expect(JSON.stringify(waitingView.outcome)).not.toContain(secret);
    // The Order row holds it sealed (AES-256-GCM), not in plain text; no step holds it at all.
    const row = await h.store.db.order.findUnique({ where: { id: orderId } });
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row?.outcome).toMatchObject({ sealedClientSecret: { alg: "A256GCM" } });
    const steps = await h.store.db.orderStep.findMany({ where: { orderId } });
    expect(JSON.stringify(steps)).not.toContain(secret);
    // Still there on a second read (the shop may poll).
    expect((await getOrder(orderId)).clientSecret?.value).toBe(secret);

    await authenticate(waiting.stripe.paymentIntentId!, "succeed");
    await stripeEventsDelivered();
    await h.waitForOutcome(orderId, { id: `${orderId}:payment:outcome` });
    const done = await poll(async () => {
      const view = await getOrder(orderId);
      return view.status === "applied" ? view : undefined;
    });
    expect(done.clientSecret).toBeUndefined();
    const finished = await h.store.db.order.findUnique({ where: { id: orderId } });
    expect(JSON.stringify(finished?.outcome)).not.toContain("sealedClientSecret");
  });
});

describe("change_payment with an open past-due invoice and a card that requires authentication", () => {
  /** A subscription paid once, then past due at renewal (its card fails), linked in Limio. */
  async function pastDueSubscription() {
    const clock = await h.stripe.testHelpers.testClocks.create({
      frozen_time: Math.floor(Date.now() / 1000),
    });
    const customer = await h.stripe.customers.create({
      email: `sca.pastdue.${hex(6)}@example.com`,
      test_clock: clock.id,
      payment_method: "pm_card_visa",
      invoice_settings: { default_payment_method: "pm_card_visa" },
    });
    const price = await h.stripe.prices.create({
      unit_amount: 999,
      currency: "gbp",
      recurring: { interval: "month" },
      product_data: { name: "Past-due digital" },
    });
    const subscription = await h.stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      default_payment_method: (customer.invoice_settings.default_payment_method as string) ?? undefined,
    });
    expect(subscription.status).toBe("active");
    const failing = await h.stripe.paymentMethods.attach("pm_card_chargeCustomerFail", {
      customer: customer.id,
    });
    await h.stripe.subscriptions.update(subscription.id, { default_payment_method: failing.id });
    const periodEnd = subscription.items.data[0]!.current_period_end;
    let ready = await h.stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: periodEnd + 3600 });
    ready = await poll(async () => {
      const c = await h.stripe.testHelpers.testClocks.retrieve(ready.id);
      return c.status === "ready" ? c : undefined;
    });
    const pastDue = await h.stripe.subscriptions.retrieve(subscription.id);
    expect(pastDue.status).toBe("past_due");
    const open = (await h.stripe.invoices.list({ subscription: subscription.id, status: "open" })).data[0]!;
    const limioId = newSubscriptionId();
    await h.linkSubscription(
      {
        orderId: `order-${hex()}`,
        subscriptionId: limioId,
        orderType: "new",
        status: "applied",
        action: "subscription_created",
        stripe: { customerId: customer.id, subscriptionId: subscription.id },
        completedAt: new Date().toISOString(),
      },
      offers.digitalMonthly,
    );
    return { limioId, subscription, open };
  }

  for (const answer of ["succeed", "fail"] as const) {
    it(`ends requires_action, then ${answer === "succeed" ? "applied with the subscription active" : "failed with the invoice still unpaid"}`, async () => {
      const { limioId, subscription, open } = await pastDueSubscription();
      const { orderId } = await h.publishOrder({
        source: "shop",
        order_type: "change_payment",
        subscriptionId: limioId,
        payment: { type: "stripe", paymentMethodId: "pm_card_authenticationRequired" },
      });
      const waiting = await h.waitForOutcome(orderId);
      expect(waiting).toMatchObject({
        status: "requires_action",
        clientSecret: { type: "invoice_confirmation_secret" },
        stripe: { invoiceId: open.id, subscriptionId: subscription.id },
      });
      await authenticate(waiting.stripe.paymentIntentId!, answer);
      await stripeEventsDelivered();
      const done = await h.waitForOutcome(orderId, { id: `${orderId}:payment:outcome` });
      const stripeSub = await h.stripe.subscriptions.retrieve(subscription.id);
      if (answer === "succeed") {
        expect(done).toMatchObject({ status: "applied", action: "payment_method_updated" });
        expect((await h.stripe.invoices.retrieve(open.id)).status).toBe("paid");
        expect(stripeSub.status).toBe("active");
        await poll(async () => (await limioSubscription(limioId))?.status === "active", {
          what: "the Limio subscription to be active",
        });
        // The sync applied both outcomes to Limio: first the wait, then the applied change.
        const audited = await poll(async () => {
          const rows = await h.store.db.event.findMany({ where: { orderId }, orderBy: { createdAt: "asc" } });
          return rows.some((e) => e.type === "order.applied") ? rows : undefined;
        });
        const orderEvents = audited.map((e) => e.type).filter((t) => t.startsWith("order."));
        expect(orderEvents).toEqual(["order.requires_action", "order.applied"]);
      } else {
        expect(done).toMatchObject({
          status: "failed",
          error: { code: "payment_intent_authentication_failure" },
          stripe: { invoiceId: open.id },
        });
        // Nothing paid: Stripe keeps dunning the invoice (Limio shows past_due as active, see
        // domain rule subscription-patch: the customer is still in a term they are entitled to).
        expect(stripeSub.status).toBe("past_due");
        const invoice = await h.stripe.invoices.retrieve(open.id);
        expect(invoice).toMatchObject({ status: "open", amount_paid: 0 });
      }
    });
  }
});

describe("a shop's PaymentIntent is checked against the first invoice before it is attached", () => {
  async function orderWith(paymentIntent: (customerId: string) => Promise<Stripe.PaymentIntent>) {
    const email = `sca.pi.${hex(6)}@example.com`;
    const customer = await h.stripe.customers.create({ email });
    const intent = await paymentIntent(customer.id);
    const { orderId } = await h.publishOrder(
      newOrder({
        email,
        offerId: offers.digitalQuarterly,
        payment: { type: "stripe", stripe: { result: { paymentIntent: intent.id } } },
      }),
    );
    return { intent, outcome: await h.waitForOutcome(orderId) };
  }
  const paid = (customer: string | undefined, amount: number) =>
    h.stripe.paymentIntents.create({
      amount,
      currency: "gbp",
      ...(customer ? { customer } : {}),
      payment_method: "pm_card_visa",
      confirm: true,
      automatic_payment_methods: { enabled: true, allow_redirects: "never" },
    });

  it("the whole amount of the customer's own PaymentIntent: applied, invoice paid", async () => {
    const { intent, outcome } = await orderWith((customer) => paid(customer, 2700));
    expect(outcome).toMatchObject({ status: "applied", stripe: { paymentIntentId: intent.id } });
    expect((await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!)).status).toBe("paid");
  });

  it("a foreign PaymentIntent fails by name with the ids to refund, nothing attached", async () => {
    const other = await h.stripe.customers.create({ email: `other.${hex(6)}@example.com` });
    const { intent, outcome } = await orderWith(() => paid(other.id, 2700));
    expect(outcome).toMatchObject({
      status: "failed",
      error: { code: "payment_intent_foreign" },
      stripe: { paymentIntentId: intent.id, invoiceId: expect.stringMatching(/^in_/) },
    });
    expect(outcome.error?.message).toContain(intent.id);
    const invoice = await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!);
    expect(invoice.status).toBe("open");
    expect(invoice.amount_paid).toBe(0);
  });

  it("a partial PaymentIntent fails by name, never applied", async () => {
    const { intent, outcome } = await orderWith((customer) => paid(customer, 1000));
    expect(outcome).toMatchObject({
      status: "failed",
      error: { code: "payment_intent_partial" },
      stripe: { paymentIntentId: intent.id },
    });
    expect((await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!)).amount_paid).toBe(0);
  });
});

describe("Stripe's rate limit", () => {
  it("a rate_limit 429 without retry headers goes through the bridge's backoff, and the order applies", async () => {
    await fetch(`${h.emu.url}/_emulator/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ seed: 11, rules: { "POST /v1/subscriptions": { rateLimit429: 1, limit: 2 } } }),
    });
    await fetch(`${h.emu.url}/_emulator/requests`, { method: "DELETE" });
    // The writer's own retries of an order (messaging_messages_retried_total, in place): a 429 the
    // SDK retried by itself would never reach them.
    const retriedInPlace = async () => {
      const metric = await writerMetrics.registry.getSingleMetric("messaging_messages_retried_total")?.get();
      return (metric?.values ?? [])
        .filter((v) => v.labels.topic === h.topics.orders && v.labels.where === "in_place")
        .reduce((n, v) => n + v.value, 0);
    };
    const retriedBefore = await retriedInPlace();
    try {
      const { orderId } = await h.publishOrder(
        newOrder({
          email: `sca.429.${hex(6)}@example.com`,
          payment: { type: "stripe", paymentMethodId: "pm_card_visa" },
        }),
      );
      const outcome = await h.waitForOutcome(orderId);
      expect(outcome.status).toBe("applied");
      const log = (await (await fetch(`${h.emu.url}/_emulator/requests`)).json()) as {
        data: { method: string; path: string; status: number }[];
      };
      const creates = log.data.filter((r) => r.method === "POST" && r.path === "/v1/subscriptions");
      expect(creates.map((r) => r.status)).toEqual([429, 429, 200]);
      expect((await retriedInPlace()) - retriedBefore).toBe(2);
    } finally {
      await fetch(`${h.emu.url}/_emulator/faults`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ rules: {} }),
      });
    }
  });
});
