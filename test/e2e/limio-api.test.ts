// Limio's Send Order API end to end (issue 13 acceptance 1): orders go through the gateway's
// `POST /api/order` onto real Kafka, the writer and the sync run in process on this run's broker
// and database, the Stripe emulator plays Stripe (and its 3-D Secure page), and the answers are
// read back through the gateway's GET routes.
import { generateLimioReference, type OrderOutcomeV1 } from "@bridge/domain";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, keys } from "../../apps/ingest-gateway/test/support.ts";
import { type Harness, hex, newOrder, offers, poll } from "../../apps/stripe-writer/test/harness.ts";
import { type E2eStack, startE2eStack } from "../support/e2e-stack.ts";

let stack: E2eStack;
let h: Harness;
let gateway: FastifyInstance;

beforeAll(async () => {
  stack = await startE2eStack("limio_api");
  ({ h, gateway } = stack);
});
afterAll(() => stack?.stop());

type Answer = {
  id: string;
  order_reference: string;
  status: string;
  external_id: string | null;
  subscriptionId: string;
  subscriptionReference: string;
  owner: string | null;
  clientSecret?: { type: string; value: string };
};

/** Submits through the gateway as Limio's clients do (asynchronously: process_immediately false). */
async function submit(order: Record<string, unknown>): Promise<Answer> {
  const response = await gateway.inject({
    method: "POST",
    url: "/api/order",
    headers: bearer(keys.shop),
    payload: { external_id: `EXT-${hex()}`, ...order },
  });
  expect(response.statusCode, response.body).toBe(202);
  return response.json();
}

const read = async <T>(url: string): Promise<T> => {
  const response = await gateway.inject({ method: "GET", url, headers: bearer(keys.reader) });
  expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
  return response.json() as T;
};

/** The Limio subscription a new order created, once the order is applied and the sync ran. */
async function appliedSubscription(answer: Answer) {
  expect(await h.waitForOutcome(answer.id)).toMatchObject({ status: "applied" });
  return poll(() =>
    h.store.db.subscription.findUnique({ where: { id: answer.subscriptionId } }).then((s) => s ?? undefined),
  );
}

const stripeResult = (result: unknown) => ({ type: "stripe", stripe: { result } });
const email = (kind: string) => `limio.${kind}.${hex(6)}@example.com`;

describe("a Limio-shaped new order carrying its own id, order_reference, sub_reference and owner", () => {
  it("comes back with the same ones in the POST answer, GET, the subscription and the store", async () => {
    const ids = {
      id: `order-${hex()}`,
      order_reference: generateLimioReference(),
      sub_reference: generateLimioReference(),
      owner: `id-${hex()}`,
    };
    // createPaymentMethod's result, as Stripe.js resolves it.
    const paymentMethod = await h.stripe.paymentMethods.retrieve(await h.card());
    const answer = await submit({
      ...newOrder({ email: email("ids"), payment: stripeResult({ paymentMethod }) }),
      ...ids,
    });
    expect(answer).toMatchObject({
      id: ids.id,
      order_reference: ids.order_reference,
      owner: ids.owner,
      status: "queued",
      subscriptionReference: ids.sub_reference,
    });
    expect(answer).not.toHaveProperty("sub_reference");

    const subscription = await appliedSubscription(answer);
    // One reference per subscription: the POST answer's is the stored one, and every GET shows it.
    expect(subscription.reference).toBe(ids.sub_reference);
    expect(await h.store.db.order.findUnique({ where: { id: ids.id } })).toMatchObject({
      reference: ids.order_reference,
    });
    for (const url of [`/api/order/${ids.id}`, `/api/orders/${ids.id}`]) {
      expect(await read<Answer>(url)).toMatchObject({
        id: ids.id,
        order_reference: ids.order_reference,
        subscriptionReference: ids.sub_reference,
        owner: ids.owner,
        status: "applied",
      });
    }
    expect(await read<{ reference: string }>(`/api/subscriptions/${answer.subscriptionId}`)).toMatchObject({
      reference: ids.sub_reference,
    });
  });

  it("without them: the minted references are the same in the answer, GET and the stored subscription", async () => {
    const answer = await submit(
      newOrder({ email: email("minted"), payment: stripeResult({ paymentMethod: { id: await h.card() } }) }),
    );
    expect(answer.owner).toBeNull();
    const subscription = await appliedSubscription(answer);
    expect(subscription.reference).toBe(answer.subscriptionReference);
    expect(await read<Answer>(`/api/order/${answer.id}`)).toMatchObject({
      order_reference: answer.order_reference,
      subscriptionReference: answer.subscriptionReference,
    });
  });
});

describe("payment.stripe.result as Stripe.js returns it", () => {
  const applied = async (answer: Answer): Promise<OrderOutcomeV1> => {
    const outcome = await h.waitForOutcome(answer.id);
    expect(outcome, JSON.stringify(outcome.error)).toMatchObject({ status: "applied" });
    return outcome;
  };

  it("{ paymentIntent } (confirmCardPayment): that PaymentIntent pays the first invoice; its client_secret is not kept", async () => {
    const customerEmail = email("pi");
    const customer = await h.stripe.customers.create({ email: customerEmail });
    const paymentIntent = await h.stripe.paymentIntents.create({
      amount: 2700,
      currency: "gbp",
      customer: customer.id,
      payment_method: "pm_card_visa",
      confirm: true,
      automatic_payment_methods: { enabled: true, allow_redirects: "never" },
    });
    expect(paymentIntent.client_secret).toBeTruthy();
    const answer = await submit(
      newOrder({
        email: customerEmail,
        offerId: offers.digitalQuarterly,
        payment: stripeResult({ paymentIntent }),
      }),
    );
    const outcome = await applied(answer);
    expect(outcome.stripe.paymentIntentId).toBe(paymentIntent.id);
    expect((await h.stripe.invoices.retrieve(outcome.stripe.invoiceId!)).status).toBe("paid");
    const row = await h.store.db.order.findUnique({ where: { id: answer.id } });
    expect(JSON.stringify(row?.payload)).not.toContain(paymentIntent.client_secret!);
  });

  it("{ setupIntent } (confirmCardSetup): the PaymentMethod it saved becomes the subscription's", async () => {
    const setupIntent = await h.stripe.setupIntents.create({
      payment_method: await h.card(),
      confirm: true,
      usage: "off_session",
    });
    expect(setupIntent.status).toBe("succeeded");
    const answer = await submit(newOrder({ email: email("seti"), payment: stripeResult({ setupIntent }) }));
    const outcome = await applied(answer);
    const customer = await h.stripe.customers.retrieve(outcome.stripe.customerId!);
    expect(customer).toMatchObject({
      invoice_settings: { default_payment_method: setupIntent.payment_method },
    });
    const row = await h.store.db.order.findUnique({ where: { id: answer.id } });
    expect(JSON.stringify(row?.payload)).not.toContain("secret");
  });

  it("{ error }: 400 naming the field, nothing published", async () => {
    const error = { type: "card_error", code: "card_declined", message: "Your card was declined." };
    const response = await gateway.inject({
      method: "POST",
      url: "/api/order",
      headers: bearer(keys.shop),
      payload: newOrder({ email: email("error"), payment: stripeResult({ error }) }),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.details).toEqual([
      { path: "payment.stripe.result.error", message: expect.stringContaining("card_declined") },
    ]);
  });
});

describe("an asynchronous new order whose card needs authentication", () => {
  it("exposes its confirmation secret through GET /api/order/{id} until it is confirmed", async () => {
    const answer = await submit(
      newOrder({
        email: email("sca"),
        payment: stripeResult({
          paymentMethod: { id: "pm_card_authenticationRequired", object: "payment_method" },
        }),
      }),
    );
    expect(answer.status).toBe("queued");
    expect(answer).not.toHaveProperty("clientSecret");
    const view = () =>
      read<Answer & { outcome: { stripe?: { paymentIntentId?: string } } | null }>(`/api/order/${answer.id}`);
    const waiting = await poll(async () => {
      // 404 until the writer recorded the order (GET's documented answer shortly after a 202).
      const recorded = await h.store.db.order.findUnique({ where: { id: answer.id } });
      if (recorded?.status !== "requires_action") return undefined;
      return view();
    });
    expect(waiting.status).toBe("requires_action");
    expect(waiting.clientSecret).toMatchObject({
      type: "invoice_confirmation_secret",
      value: expect.stringMatching(/_secret_/),
    });
    // Still there on the next read: the shop may poll until the customer is back.
    expect((await view()).clientSecret).toEqual(waiting.clientSecret);

    const paymentIntentId = waiting.outcome?.stripe?.paymentIntentId;
    expect(paymentIntentId).toMatch(/^pi_/);
    const authenticated = await fetch(
      `${h.emu.url}/_emulator/payment_intents/${paymentIntentId}/authenticate`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ outcome: "succeed" }),
      },
    );
    expect(authenticated.status).toBe(200);
    await stack.forwardStripeEvents();
    const done = await poll(async () => {
      const v = await view();
      return v.status === "applied" ? v : undefined;
    });
    expect(done.clientSecret).toBeUndefined();
  });
});
