import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyPatch, emptySubscriptionRecord, type LimioSubscriptionRecord } from "../../test/patch-model.ts";
import { card, DAY, invoice, subscription, T0 } from "../../test/stripe-builders.ts";
import {
  type StripeInvoiceLike,
  type StripeSubscriptionLike,
  stripeSubscriptionStatuses,
} from "../stripe/types.ts";
import { buildSubscriptionPatch } from "./subscription-patch.ts";

const now = new Date((T0 + 10 * DAY) * 1000);

// Arbitrary but valid Stripe subscriptions: any status, 1–4 items with any periods (even inverted).
const ts = fc.integer({ min: 0, max: 4_102_444_800 }); // up to 2100
const itemArb = fc.record({
  id: fc.stringMatching(/^si_[A-Za-z0-9]{1,14}$/),
  current_period_start: ts,
  current_period_end: ts,
  quantity: fc.option(fc.integer({ min: 1, max: 10 }), { nil: null }),
  price: fc.record({
    id: fc.stringMatching(/^price_[A-Za-z0-9]{1,14}$/),
    currency: fc.constantFrom("gbp", "usd", "jpy", "kwd"),
    unit_amount: fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: null }),
    recurring: fc.option(
      fc.record({
        interval: fc.constantFrom("day", "week", "month", "year"),
        interval_count: fc.integer({ min: 1, max: 36 }),
      }),
      { nil: null },
    ),
  }),
});
const subArb: fc.Arbitrary<StripeSubscriptionLike> = fc.record({
  id: fc.stringMatching(/^sub_[A-Za-z0-9]{1,14}$/),
  status: fc.constantFrom(...stripeSubscriptionStatuses),
  customer: fc.oneof(fc.constant("cus_1"), fc.constant({ id: "cus_2" })),
  cancel_at_period_end: fc.option(fc.boolean(), { nil: undefined }),
  cancel_at: fc.option(ts, { nil: null }),
  canceled_at: fc.option(ts, { nil: null }),
  ended_at: fc.option(ts, { nil: null }),
  start_date: ts,
  trial_end: fc.option(ts, { nil: null }),
  schedule: fc.option(fc.constant("sub_sched_1"), { nil: null }),
  items: fc.record({ data: fc.array(itemArb, { minLength: 1, maxLength: 4 }) }),
});
const invoiceArb: fc.Arbitrary<StripeInvoiceLike> = fc
  .record({
    id: fc.stringMatching(/^in_[A-Za-z0-9]{1,6}$/),
    status: fc.constantFrom("draft", "open", "paid", "uncollectible", "void"),
    amount: fc.integer({ min: 0, max: 1_000_000 }),
    created: ts,
    attempt_count: fc.integer({ min: 0, max: 4 }),
    paid_at: fc.option(ts, { nil: null }),
    tax: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null }),
    line: fc.option(fc.record({ start: ts, end: ts }), { nil: null }),
  })
  .map((r) =>
    invoice({
      id: r.id,
      status: r.status,
      amount_due: r.amount,
      amount_paid: r.status === "paid" ? r.amount : 0,
      total: r.amount,
      total_excluding_tax: r.tax === null ? null : r.amount - r.tax,
      created: r.created,
      attempt_count: r.attempt_count,
      status_transitions: { paid_at: r.paid_at },
      lines: { data: r.line ? [{ amount: r.amount, period: r.line }] : [] },
    }),
  );
const inputArb = fc.record({
  subscription: subArb,
  invoices: fc.array(invoiceArb, { maxLength: 6 }),
  upcomingInvoice: fc.option(invoiceArb, { nil: null }),
  defaultPaymentMethod: fc.option(fc.constant(card()), { nil: null }),
  now: ts.map((s) => new Date(s * 1000)),
});

describe("applyPatch", () => {
  it("writes the Stripe state and keeps fields it does not own", () => {
    const record = {
      ...emptySubscriptionRecord(),
      id: "sub-5c3d83c60950014c306865f0ab8c499b",
      offerId: "o1",
    };
    const patch = buildSubscriptionPatch({
      subscription: subscription(),
      invoices: [invoice()],
      defaultPaymentMethod: card(),
      now,
    });
    const next = applyPatch(record, patch);
    expect(next).toMatchObject({
      id: "sub-5c3d83c60950014c306865f0ab8c499b",
      offerId: "o1",
      status: "active",
      stripeSubscriptionId: "sub_1",
      lastSyncedAt: now.toISOString(),
      paymentMethod: { last4: "4242" },
    });
    expect(next.schedules.map((s) => s.key)).toEqual(["invoice:in_1"]);
  });

  it("leaves the stored payment method alone when the patch did not fetch one", () => {
    const record: LimioSubscriptionRecord = {
      ...emptySubscriptionRecord(),
      paymentMethod: {
        stripePaymentMethodId: "pm_old",
        type: "card",
        brand: "amex",
        last4: "0005",
        expMonth: 1,
        expYear: 2031,
      },
    };
    const next = applyPatch(record, buildSubscriptionPatch({ subscription: subscription(), now }));
    expect(next.paymentMethod?.stripePaymentMethodId).toBe("pm_old");
  });

  it("cancels the stored prediction once Stripe stops predicting it (sub set to cancel at term end)", () => {
    const preview = invoice({ id: null, next_payment_attempt: T0 + 30 * DAY });
    const first = applyPatch(
      emptySubscriptionRecord(),
      buildSubscriptionPatch({ subscription: subscription(), upcomingInvoice: preview, now }),
    );
    expect(first.schedules.map((s) => s.status)).toEqual(["scheduled"]);
    const second = applyPatch(
      first,
      buildSubscriptionPatch({
        subscription: subscription({ cancel_at_period_end: true }),
        upcomingInvoice: preview,
        now,
      }),
    );
    expect(second.schedules.map((s) => s.status)).toEqual(["cancelled"]);
    expect(second.cancelAtTermEnd).toBe(true);
  });
});

describe("properties", () => {
  it("any valid Stripe subscription maps without throwing, to a known Limio status", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const patch = buildSubscriptionPatch(input);
        expect(["active", "cancelled", "pending", "expired"]).toContain(patch.status);
        expect(patch.stripeStatus).toBe(input.subscription.status);
        expect(patch.termStartDate! <= patch.termEndDate! || patch.warnings.length > 0).toBe(true);
      }),
    );
  });

  it("the mapping is deterministic", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const again = structuredClone(input);
        expect(buildSubscriptionPatch(again)).toEqual(buildSubscriptionPatch(input));
      }),
    );
  });

  it("applying a patch twice equals applying it once, from any prior record", () => {
    fc.assert(
      fc.property(inputArb, inputArb, (earlier, input) => {
        const prior = applyPatch(emptySubscriptionRecord(), buildSubscriptionPatch(earlier));
        const patch = buildSubscriptionPatch(input);
        const once = applyPatch(prior, patch);
        expect(applyPatch(once, patch)).toEqual(once);
      }),
    );
  });
});
