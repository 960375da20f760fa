import { randomUUID } from "node:crypto";
import { addSpan, addUnits, LIMIO_OFFER_ID, type OfferTerm, offerTermMetadata } from "@bridge/domain";
import { findSubscriptionDetail } from "@bridge/store";
import { describe, expect, it } from "vitest";
import {
  advanceClock,
  catalogOffer,
  seedLimioSubscription,
  until,
  useWebhookHarness,
  utc,
} from "../test/harness.ts";

// Limio's term follows the offer's term (issue 12), through the whole path: a subscription
// created the way the writer creates it, Stripe's renewals on a test clock, the emulator's signed
// webhooks → Kafka → the sync-consumer → Postgres. Billing stays monthly throughout.

const ctx = useWebhookHarness();

const hex = () => randomUUID().replaceAll("-", "");
const at = (seconds: number) => new Date(seconds * 1000).toISOString();
const twelveMonths = { length: 12, type: "months" } as const;

/**
 * A monthly subscription as the writer creates it for a new order: Limio metadata (the offer on
 * the price and the subscription, the term it was bought with when given), `limio:<order>:<step>`
 * idempotency keys, and `cancel_at` at the term end for a fixed term.
 */
async function writerSubscription(options: { offerId: string; start: number; term?: OfferTerm }) {
  const orderId = `order-${hex()}`;
  const key = (step: string) => ({ idempotencyKey: `limio:${orderId}:${step}` });
  const fixedTermEnd =
    options.term?.autoRenew === false
      ? addSpan(new Date(options.start * 1000), options.term.term).getTime() / 1000
      : undefined;
  const metadata = { limio_order_id: orderId, limio_subscription_id: `sub-${hex()}`, limio_source: "shop" };
  const clock = await ctx.h.stripe.testHelpers.testClocks.create({ frozen_time: options.start });
  const customer = await ctx.h.stripe.customers.create(
    { email: `term-${hex().slice(0, 8)}@example.com`, test_clock: clock.id, metadata },
    key("customer"),
  );
  const card = await ctx.h.stripe.paymentMethods.attach(
    "pm_card_visa",
    { customer: customer.id },
    key("attach"),
  );
  await ctx.h.stripe.customers.update(
    customer.id,
    { invoice_settings: { default_payment_method: card.id } },
    key("default-pm"),
  );
  const price = await ctx.h.stripe.prices.create(
    {
      currency: "gbp",
      unit_amount: 999,
      recurring: { interval: "month" },
      product_data: { name: options.offerId },
      metadata: { ...metadata, [LIMIO_OFFER_ID]: options.offerId },
    },
    key("price"),
  );
  const subscription = await ctx.h.stripe.subscriptions.create(
    {
      customer: customer.id,
      items: [{ price: price.id }],
      payment_behavior: "allow_incomplete",
      metadata: {
        ...metadata,
        [LIMIO_OFFER_ID]: options.offerId,
        ...(options.term ? offerTermMetadata(options.term) : {}),
      },
      ...(fixedTermEnd === undefined ? {} : { cancel_at: fixedTermEnd }),
    },
    key("subscription"),
  );
  const { subscriptionId } = await seedLimioSubscription(ctx.h.store, {
    stripeSubscriptionId: subscription.id,
    stripeCustomerId: customer.id,
  });
  // The writer's own requests are never synced back (loop prevention): the first sync comes from
  // a sync request, as after an order.
  const requestId = await ctx.h.publishSyncRequest(subscriptionId);
  await until(() => ctx.h.inboxHas([requestId]), 30_000, "the first sync");
  return { subscriptionId, clockId: clock.id };
}

/**
 * Advance Stripe's clock to `time` and wait until every webhook it caused has been synced. Stripe
 * advances a clock at most two intervals of its shortest subscription at once: monthly billing
 * goes two months a step.
 */
async function advanceTo(clockId: string, time: number) {
  const clock = await ctx.h.stripe.testHelpers.testClocks.retrieve(clockId);
  let now = clock.frozen_time;
  while (now < time) {
    now = Math.min(time, addUnits(new Date(now * 1000), 2, "months").getTime() / 1000);
    await advanceClock(ctx.h.stripe, clockId, now);
    await ctx.receiver.settle();
  }
}

async function limio(subscriptionId: string) {
  const sub = await findSubscriptionDetail(ctx.h.store.db, subscriptionId);
  const schedules = (status: string) =>
    (sub?.paymentSchedules ?? [])
      .filter((p) => p.status === status)
      .map((p) => p.dueDate?.toISOString())
      .sort();
  return {
    status: sub?.status,
    termStart: sub?.termStart?.toISOString(),
    termEnd: sub?.termEnd?.toISOString(),
    cancelAtTermEnd: sub?.cancelAtTermEnd,
    endedAt: sub?.endedAt?.toISOString() ?? null,
    paid: schedules("paid"),
    scheduled: schedules("scheduled"),
  };
}

describe("Limio's term follows the offer's term, payment schedules follow billing", () => {
  it("12 months billed monthly: termEnd 12 months out, rolled over by the renewal past it", async () => {
    const start = utc(2026, 1, 15);
    const s = await writerSubscription({
      offerId: "offer-digital-12m",
      start,
      term: { term: twelveMonths, autoRenew: true },
    });
    expect(await limio(s.subscriptionId)).toMatchObject({
      status: "active",
      termStart: at(start),
      termEnd: at(utc(2027, 1, 15)),
      cancelAtTermEnd: false,
      paid: [at(start)],
      scheduled: [at(utc(2026, 2, 15))],
    });

    // A monthly renewal inside the term: the term stays, the next payment is a month out.
    await advanceTo(s.clockId, utc(2026, 2, 16));
    expect(await limio(s.subscriptionId)).toMatchObject({
      termStart: at(start),
      termEnd: at(utc(2027, 1, 15)),
      paid: [at(start), at(utc(2026, 2, 15))],
      scheduled: [at(utc(2026, 3, 15))],
    });

    // Eleven more monthly renewals; the one on 15 January 2027 passes the old term end.
    await advanceTo(s.clockId, utc(2027, 1, 16));
    const rolled = await limio(s.subscriptionId);
    expect(rolled).toMatchObject({
      status: "active",
      termStart: at(utc(2027, 1, 15)),
      termEnd: at(utc(2028, 1, 15)),
      scheduled: [at(utc(2027, 2, 15))],
    });
    expect(rolled.paid).toHaveLength(13);
    expect(rolled.paid.at(-1)).toBe(at(utc(2027, 1, 15)));
  });

  it("a fixed 12-month term shows its end, then the subscription ended there", async () => {
    const start = utc(2026, 3, 10);
    const termEnd = utc(2027, 3, 10);
    const s = await writerSubscription({
      offerId: "offer-digital-fixed",
      start,
      term: { term: twelveMonths, autoRenew: false },
    });
    expect(await limio(s.subscriptionId)).toMatchObject({
      status: "active",
      termStart: at(start),
      termEnd: at(termEnd),
      cancelAtTermEnd: true,
      scheduled: [at(utc(2026, 4, 10))],
    });

    // The last billing period of the term: no payment predicted after it.
    await advanceTo(s.clockId, utc(2027, 2, 11));
    expect(await limio(s.subscriptionId)).toMatchObject({
      status: "active",
      termEnd: at(termEnd),
      cancelAtTermEnd: true,
      scheduled: [],
    });

    // Stripe ends it at cancel_at, the term end; Limio shows it cancelled, ended then.
    await advanceTo(s.clockId, utc(2027, 3, 11));
    const ended = await limio(s.subscriptionId);
    expect(ended).toMatchObject({
      status: "cancelled",
      termStart: at(start),
      termEnd: at(termEnd),
      endedAt: at(termEnd),
      scheduled: [],
    });
    expect(ended.paid).toHaveLength(12);
  });

  it("without term metadata, the catalog offer Stripe bills gives the term", async () => {
    await ctx.h.store.db.offer.create({
      data: { ...catalogOffer("offer-digital-catalog"), term: "12 months" },
    });
    const start = utc(2026, 5, 31);
    const s = await writerSubscription({ offerId: "offer-digital-catalog", start });
    expect(await limio(s.subscriptionId)).toMatchObject({
      termStart: at(start),
      termEnd: at(utc(2027, 5, 31)),
      // Billing is monthly from 31 May: 30 June (month end clamped).
      scheduled: [at(utc(2026, 6, 30))],
    });
  });
});
