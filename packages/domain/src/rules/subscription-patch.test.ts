import { describe, expect, it } from "vitest";
import { card, DAY, invoice, item, subscription, T0 } from "../../test/stripe-builders.ts";
import { stripeSubscriptionStatuses } from "../stripe/types.ts";
import { unixToIso } from "./payment-schedules.ts";
import {
  billedOffer,
  buildSubscriptionPatch,
  limioStatusFor,
  paymentMethodSummary,
  pendingChangeFromSchedule,
  termDates,
} from "./subscription-patch.ts";

const iso = unixToIso;
const now = new Date((T0 + 10 * DAY) * 1000);
const preview = invoice({
  id: null,
  status: "draft",
  amount_paid: 0,
  next_payment_attempt: T0 + 30 * DAY,
  lines: { data: [{ amount: 999, period: { start: T0 + 30 * DAY, end: T0 + 60 * DAY } }] },
});

describe("limioStatusFor", () => {
  it("maps all eight Stripe statuses", () => {
    const mapped = Object.fromEntries(stripeSubscriptionStatuses.map((s) => [s, limioStatusFor(s)]));
    expect(mapped).toEqual({
      incomplete: "pending",
      incomplete_expired: "expired",
      trialing: "active",
      active: "active",
      past_due: "active",
      canceled: "cancelled",
      unpaid: "pending",
      paused: "pending",
    });
    expect(() => limioStatusFor("bogus" as never)).toThrow(/unknown Stripe subscription status 'bogus'/);
  });
});

describe("termDates", () => {
  it("spans all items: earliest start, latest end", () => {
    const sub = subscription({
      items: {
        data: [
          item({ id: "si_a", current_period_start: T0 + DAY, current_period_end: T0 + 30 * DAY }),
          item({ id: "si_b", current_period_start: T0, current_period_end: T0 + 365 * DAY }),
        ],
      },
    });
    expect(termDates(sub)).toEqual({
      termStartDate: iso(T0),
      termEndDate: iso(T0 + 365 * DAY),
      warnings: [],
    });
  });
  it("returns nulls without items and warns about inverted periods", () => {
    expect(termDates({ items: { data: [] } })).toEqual({
      termStartDate: null,
      termEndDate: null,
      warnings: ["subscription has no items"],
    });
    const w = termDates({
      items: { data: [item({ current_period_start: T0 + DAY, current_period_end: T0 })] },
    }).warnings;
    expect(w[0]).toMatch(/^item si_1 ends .* before it starts/);
  });
});

describe("paymentMethodSummary", () => {
  it("summarises cards, keeps type/last4 of other methods, null when none", () => {
    expect(paymentMethodSummary(card())).toEqual({
      stripePaymentMethodId: "pm_1",
      type: "card",
      brand: "visa",
      last4: "4242",
      expMonth: 8,
      expYear: 2030,
    });
    expect(
      paymentMethodSummary({
        id: "pm_2",
        type: "bacs_debit",
        bacs_debit: { last4: "2345", sort_code: "108800" },
      }),
    ).toEqual({
      stripePaymentMethodId: "pm_2",
      type: "bacs_debit",
      brand: null,
      last4: "2345",
      expMonth: null,
      expYear: null,
    });
    expect(paymentMethodSummary({ id: "pm_3", type: "link" })?.last4).toBeNull();
    expect(paymentMethodSummary(null)).toBeNull();
    expect(paymentMethodSummary(undefined)).toBeNull();
  });
});

describe("pendingChangeFromSchedule", () => {
  const schedule = {
    id: "sub_sched_1",
    status: "active",
    phases: [
      { start_date: T0, end_date: T0 + 30 * DAY, items: [{ price: "price_high" }] },
      { start_date: T0 + 30 * DAY, end_date: null, items: [{ price: { id: "price_low" } }] },
    ],
  };
  it("reports the next phase of a live schedule", () => {
    expect(pendingChangeFromSchedule(schedule, now)).toEqual({
      stripeScheduleId: "sub_sched_1",
      effectiveAt: iso(T0 + 30 * DAY),
      priceIds: ["price_low"],
    });
  });
  it("is null for released/completed schedules or when no phase is ahead", () => {
    expect(pendingChangeFromSchedule({ ...schedule, status: "released" }, now)).toBeNull();
    expect(pendingChangeFromSchedule(schedule, new Date((T0 + 40 * DAY) * 1000))).toBeNull();
    expect(pendingChangeFromSchedule(null, now)).toBeNull();
  });
});

describe("buildSubscriptionPatch", () => {
  it("maps an active subscription with history, preview and card", () => {
    const patch = buildSubscriptionPatch({
      subscription: subscription({ schedule: "sub_sched_1" }),
      invoices: [invoice(), invoice({ id: "in_draft", status: "draft" })],
      upcomingInvoice: preview,
      defaultPaymentMethod: card(),
      now,
    });
    expect(patch).toMatchObject({
      status: "active",
      stripeStatus: "active",
      startDate: iso(T0),
      termStartDate: iso(T0),
      termEndDate: iso(T0 + 30 * DAY),
      cancelAtTermEnd: false,
      cancelAt: null,
      canceledAt: null,
      endedAt: null,
      stripeSubscriptionId: "sub_1",
      stripeCustomerId: "cus_1",
      stripeScheduleId: "sub_sched_1",
      paymentMethod: { brand: "visa", last4: "4242" },
      syncedAt: now.toISOString(),
      warnings: [],
    });
    expect(patch.schedules.map((s) => [s.key, s.status])).toEqual([
      ["invoice:in_1", "paid"],
      [`upcoming:sub_1:${T0 + 30 * DAY}`, "scheduled"],
    ]);
  });

  it("reflects cancel at period end and drops the preview (no next charge)", () => {
    const patch = buildSubscriptionPatch({
      subscription: subscription({
        cancel_at_period_end: true,
        cancel_at: T0 + 30 * DAY,
        canceled_at: T0 + 5 * DAY,
      }),
      invoices: [invoice()],
      upcomingInvoice: preview,
      now,
    });
    expect(patch).toMatchObject({
      status: "active",
      cancelAtTermEnd: true,
      cancelAt: iso(T0 + 30 * DAY),
      canceledAt: iso(T0 + 5 * DAY),
    });
    expect(patch.schedules.map((s) => s.status)).toEqual(["paid"]);
  });

  it("keeps the preview when a fixed cancel date lies after it, drops it when it does not", () => {
    const later = buildSubscriptionPatch({
      subscription: subscription({ cancel_at: T0 + 90 * DAY }),
      upcomingInvoice: preview,
      now,
    });
    expect(later.schedules).toHaveLength(1);
    const sooner = buildSubscriptionPatch({
      subscription: subscription({ cancel_at: T0 + 20 * DAY }),
      upcomingInvoice: preview,
      now,
    });
    expect(sooner.schedules).toHaveLength(0);
  });

  it("maps a canceled subscription with ended dates and no future schedule", () => {
    const patch = buildSubscriptionPatch({
      subscription: subscription({ status: "canceled", canceled_at: T0 + 5 * DAY, ended_at: T0 + 5 * DAY }),
      upcomingInvoice: preview,
      defaultPaymentMethod: null,
      now,
    });
    expect(patch).toMatchObject({
      status: "cancelled",
      stripeStatus: "canceled",
      endedAt: iso(T0 + 5 * DAY),
      paymentMethod: null,
    });
    expect(patch.schedules).toEqual([]);
  });

  it("skips invoices of other subscriptions and orders schedules by date", () => {
    const patch = buildSubscriptionPatch({
      subscription: subscription(),
      invoices: [
        invoice({ id: "in_2", status_transitions: { paid_at: T0 + 2 * DAY } }),
        invoice({ id: "in_other", parent: { subscription_details: { subscription: "sub_other" } } }),
        invoice({ id: "in_1", status_transitions: { paid_at: T0 + DAY } }),
        invoice({ id: "in_manual", parent: null, status_transitions: { paid_at: T0 + 3 * DAY } }),
      ],
      now,
    });
    expect(patch.schedules.map((s) => s.stripeInvoiceId)).toEqual(["in_1", "in_2", "in_manual"]);
  });

  it("takes an expanded default_payment_method from the subscription, and leaves it unknown when unexpanded", () => {
    const expanded = buildSubscriptionPatch({
      subscription: subscription({ default_payment_method: card({ id: "pm_9" }) }),
      now,
    });
    expect(expanded.paymentMethod?.stripePaymentMethodId).toBe("pm_9");
    const unexpanded = buildSubscriptionPatch({
      subscription: subscription({ default_payment_method: "pm_9" }),
      now,
    });
    expect(unexpanded).not.toHaveProperty("paymentMethod");
  });

  it("refuses a subscription without a customer", () => {
    expect(() => buildSubscriptionPatch({ subscription: subscription({ customer: "" }), now })).toThrow(
      /no customer/,
    );
  });
});

describe("buildSubscriptionPatch with the offer's term", () => {
  const twelveMonths = { term: { length: 12, type: "months" as const }, autoRenew: true };

  it("a 12-month term billed monthly: termEnd 12 months out, whatever the billing period", () => {
    const start = Date.UTC(2026, 0, 15) / 1000;
    const sub = subscription({
      start_date: start,
      items: { data: [item({ current_period_start: start, current_period_end: start + 31 * DAY })] },
    });
    const termAt = (now: Date) => {
      const p = buildSubscriptionPatch({ subscription: sub, offerTerm: twelveMonths, now });
      return [p.termStartDate, p.termEndDate];
    };
    expect(termAt(new Date(Date.UTC(2026, 2, 1)))).toEqual([
      "2026-01-15T00:00:00.000Z",
      "2027-01-15T00:00:00.000Z",
    ]);
    // Rolled over at renewal.
    expect(termAt(new Date(Date.UTC(2027, 0, 20)))).toEqual([
      "2027-01-15T00:00:00.000Z",
      "2028-01-15T00:00:00.000Z",
    ]);
    // Without the offer's term, the billing period as before.
    expect(
      buildSubscriptionPatch({ subscription: sub, now: new Date(Date.UTC(2026, 2, 1)) }).termEndDate,
    ).toBe(iso(start + 31 * DAY));
  });

  it("counts from the end of a trial (Limio's delayed start), and a fixed term never rolls over", () => {
    const start = Date.UTC(2026, 0, 1) / 1000;
    const trialEnd = Date.UTC(2026, 0, 15) / 1000;
    const sub = subscription({ start_date: start, trial_end: trialEnd });
    const patch = buildSubscriptionPatch({
      subscription: sub,
      offerTerm: { ...twelveMonths, autoRenew: false },
      now: new Date(Date.UTC(2028, 0, 1)),
    });
    expect([patch.termStartDate, patch.termEndDate]).toEqual([
      "2026-01-15T00:00:00.000Z",
      "2027-01-15T00:00:00.000Z",
    ]);
  });
});

describe("billedOffer", () => {
  const sub = (metadata: Record<string, string> | undefined) =>
    ({
      items: {
        data: [
          {
            id: "si_1",
            current_period_start: 0,
            current_period_end: 1,
            price: { id: "price_1", currency: "gbp", unit_amount: 999, metadata },
          },
        ],
      },
    }) as unknown as Parameters<typeof billedOffer>[0];

  it("names the Limio offer of the billed price, so the Limio offer follows switches", () => {
    expect(billedOffer(sub({ limio_offer_id: "offer-print" }))).toEqual({ offerId: "offer-print" });
  });

  it("leaves the stored offer alone when no price names one (external subscriptions)", () => {
    expect(billedOffer(sub(undefined))).toEqual({});
    expect(billedOffer(sub({ other: "x" }))).toEqual({});
  });
});
