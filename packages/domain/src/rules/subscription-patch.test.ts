import { describe, expect, it } from "vitest";
import { card, DAY, invoice, item, subscription, T0 } from "../../test/stripe-builders.ts";
import { type StripeSubscriptionLike, stripeSubscriptionStatuses } from "../stripe/types.ts";
import { unixToIso } from "./payment-schedules.ts";
import {
  billedOffer,
  buildSubscriptionPatch,
  limioStatusFor,
  paymentMethodSummary,
  pendingChangeFromSchedule,
  scheduleCancelAt,
  subscriptionEndsAt,
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
  const u = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d, 12) / 1000;
  /** A monthly subscription anchored at `anchor`, in the billing period [from, to). */
  const monthly = (anchor: number, from: number, to: number, over: Partial<StripeSubscriptionLike> = {}) =>
    subscription({
      start_date: anchor,
      billing_cycle_anchor: anchor,
      items: { data: [item({ current_period_start: from, current_period_end: to })] },
      ...over,
    });
  const termOf = (p: { termStartDate: string | null; termEndDate: string | null }) => [
    p.termStartDate,
    p.termEndDate,
  ];

  it("a 12-month term billed monthly: termEnd 12 months out, rolled over by the renewal past it", () => {
    const start = u(2026, 1, 15);
    const patchIn = (from: number, to: number) =>
      buildSubscriptionPatch({ subscription: monthly(start, from, to), offerTerm: twelveMonths, now });
    expect(termOf(patchIn(u(2026, 3, 15), u(2026, 4, 15)))).toEqual([iso(start), iso(u(2027, 1, 15))]);
    // The last period of the first term still shows it.
    expect(termOf(patchIn(u(2026, 12, 15), u(2027, 1, 15)))).toEqual([iso(start), iso(u(2027, 1, 15))]);
    // The renewal on 15 January 2027 starts a period past the old term end: the next 12 months.
    expect(termOf(patchIn(u(2027, 1, 15), u(2027, 2, 15)))).toEqual([
      iso(u(2027, 1, 15)),
      iso(u(2028, 1, 15)),
    ]);
    // Payment schedules still follow billing: the preview's next charge is a month out.
    const p = buildSubscriptionPatch({
      subscription: monthly(start, u(2026, 3, 15), u(2026, 4, 15)),
      offerTerm: twelveMonths,
      upcomingInvoice: invoice({
        id: null,
        status: "draft",
        amount_paid: 0,
        next_payment_attempt: u(2026, 4, 15),
        lines: { data: [{ amount: 999, period: { start: u(2026, 4, 15), end: u(2026, 5, 15) } }] },
      }),
      now,
    });
    expect(p.schedules.map((s) => [s.status, s.date, s.periodEnd])).toEqual([
      ["scheduled", iso(u(2026, 4, 15)), iso(u(2026, 5, 15))],
    ]);
    // Without the offer's term, the billing period as before.
    const byBilling = buildSubscriptionPatch({
      subscription: monthly(start, u(2026, 3, 15), u(2026, 4, 15)),
      now,
    });
    expect(termOf(byBilling)).toEqual([iso(u(2026, 3, 15)), iso(u(2026, 4, 15))]);
  });

  it("follows Stripe's clock, not the sync's: a wall clock years later does not roll the term", () => {
    const start = u(2026, 1, 15);
    const sub = monthly(start, u(2026, 3, 15), u(2026, 4, 15));
    const later = buildSubscriptionPatch({
      subscription: sub,
      offerTerm: twelveMonths,
      now: new Date(u(2031, 1, 1) * 1000),
    });
    expect(termOf(later)).toEqual([iso(start), iso(u(2027, 1, 15))]);
  });

  it("counts from billing's anchor: the end of a trial, or an upgrade that restarted billing", () => {
    const created = u(2026, 1, 1);
    const trialEnd = u(2026, 1, 15);
    const trialing = monthly(trialEnd, created, trialEnd, {
      start_date: created,
      trial_end: trialEnd,
      status: "trialing",
    });
    expect(termOf(buildSubscriptionPatch({ subscription: trialing, offerTerm: twelveMonths, now }))).toEqual([
      iso(trialEnd),
      iso(u(2027, 1, 15)),
    ]);
    // Without billing_cycle_anchor (an older API shape), the trial's end still anchors the term.
    const noAnchor = { ...trialing, billing_cycle_anchor: null };
    expect(termOf(buildSubscriptionPatch({ subscription: noAnchor, offerTerm: twelveMonths, now }))).toEqual([
      iso(trialEnd),
      iso(u(2027, 1, 15)),
    ]);
    // Upgraded on 3 May 2026 to an annual offer: billing restarted then, so does the term.
    const upgraded = monthly(u(2026, 5, 3), u(2026, 5, 3), u(2027, 5, 3), { start_date: created });
    expect(termOf(buildSubscriptionPatch({ subscription: upgraded, offerTerm: twelveMonths, now }))).toEqual([
      iso(u(2026, 5, 3)),
      iso(u(2027, 5, 3)),
    ]);
  });

  it("a fixed term: cancel_at at the term end shows as ending at term end, then cancelled", () => {
    const start = u(2026, 1, 15);
    const termEnd = u(2027, 1, 15);
    const fixed = { ...twelveMonths, autoRenew: false };
    const running = buildSubscriptionPatch({
      subscription: monthly(start, u(2026, 12, 15), termEnd, { cancel_at: termEnd }),
      offerTerm: fixed,
      now,
    });
    expect(running).toMatchObject({
      status: "active",
      termStartDate: iso(start),
      termEndDate: iso(termEnd),
      cancelAt: iso(termEnd),
      cancelAtTermEnd: true,
      warnings: [],
    });
    const ended = buildSubscriptionPatch({
      subscription: monthly(start, u(2026, 12, 15), termEnd, {
        cancel_at: termEnd,
        status: "canceled",
        canceled_at: termEnd,
        ended_at: termEnd,
      }),
      offerTerm: fixed,
      now,
    });
    expect(ended).toMatchObject({
      status: "cancelled",
      termEndDate: iso(termEnd),
      endedAt: iso(termEnd),
      schedules: [],
    });
    // A cancel_at before the term end (the customer cancelled on a date) is not "at term end".
    const early = buildSubscriptionPatch({
      subscription: monthly(start, u(2026, 3, 15), u(2026, 4, 15), { cancel_at: u(2026, 4, 1) }),
      offerTerm: twelveMonths,
      now,
    });
    expect(early.cancelAtTermEnd).toBe(false);
  });

  it("a fixed term the writer recorded: cancel_at is the term end, though Stripe anchored billing after the planned start", () => {
    // The writer planned the term from 15 Jan 2026 12:00:00 and sent cancel_at = that + 12 months;
    // Stripe stamped the anchor at the create, 7 s later. Anchor + term misses cancel_at by 7 s.
    const planned = u(2026, 1, 15);
    const cancelAt = u(2027, 1, 15);
    const anchor = planned + 7;
    const fixed = { ...twelveMonths, autoRenew: false };
    const stamped = { limio_term_length: "12", limio_term_type: "months", limio_auto_renew: "false" };
    const created = (over: Partial<StripeSubscriptionLike> = {}) =>
      monthly(anchor, u(2026, 3, 15) + 7, u(2026, 4, 15) + 7, { cancel_at: cancelAt, ...over });
    const patchOf = (sub: StripeSubscriptionLike) =>
      buildSubscriptionPatch({ subscription: sub, offerTerm: fixed, now });

    const recorded = patchOf(created({ metadata: { ...stamped, limio_term_end: String(cancelAt) } }));
    expect(recorded).toMatchObject({
      termStartDate: iso(anchor),
      termEndDate: iso(cancelAt),
      cancelAt: iso(cancelAt),
      cancelAtTermEnd: true,
      warnings: [],
    });
    // Without the writer's record (made before it, or by others), the rule from the anchor stays.
    const unrecorded = patchOf(created({ metadata: stamped }));
    expect(unrecorded).toMatchObject({ termEndDate: iso(cancelAt + 7), cancelAtTermEnd: false });
    // An operator who moved cancel_at (an early cancel) no longer matches the record.
    const moved = patchOf(
      created({ cancel_at: u(2026, 6, 1), metadata: { ...stamped, limio_term_end: String(cancelAt) } }),
    );
    expect(moved).toMatchObject({ termEndDate: iso(cancelAt + 7), cancelAtTermEnd: false });
    // A malformed record is ignored.
    for (const bad of [`${cancelAt}.0`, "", "soon", `0${cancelAt}`]) {
      expect(patchOf(created({ metadata: { ...stamped, limio_term_end: bad } })).cancelAtTermEnd).toBe(false);
    }
    // An order that waited two days for its customer: Stripe still ends it at cancel_at, and
    // Limio shows it ended there.
    const late = planned + 2 * DAY;
    const ended = buildSubscriptionPatch({
      subscription: monthly(late, u(2026, 12, 15) + 2 * DAY, cancelAt, {
        status: "canceled",
        cancel_at: cancelAt,
        canceled_at: cancelAt,
        ended_at: cancelAt,
        metadata: { ...stamped, limio_term_end: String(cancelAt) },
      }),
      offerTerm: fixed,
      now,
    });
    expect(ended).toMatchObject({
      status: "cancelled",
      termStartDate: iso(late),
      termEndDate: iso(cancelAt),
      cancelAtTermEnd: true,
      endedAt: iso(cancelAt),
    });
  });

  it("a fixed term whose end a scheduled switch moved onto the schedule still shows that end", () => {
    // Decision 015: the writer clears cancel_at and the schedule's last phase ends at the term
    // end with end_behavior cancel. The term end then lives only on the schedule.
    const planned = u(2026, 1, 15);
    const termEnd = u(2027, 1, 15);
    const anchor = planned + 7;
    const switchAt = u(2026, 4, 15) + 7;
    const fixed = { ...twelveMonths, autoRenew: false };
    const stamped = {
      limio_term_length: "12",
      limio_term_type: "months",
      limio_auto_renew: "false",
      limio_term_end: String(termEnd),
    };
    const schedule = {
      id: "sub_sched_fixed",
      status: "active",
      end_behavior: "cancel",
      phases: [
        { start_date: anchor, end_date: switchAt, items: [{ price: "price_high" }] },
        { start_date: switchAt, end_date: termEnd, items: [{ price: "price_low" }] },
      ],
    };
    const sub = monthly(anchor, u(2026, 3, 15) + 7, switchAt, {
      cancel_at: null,
      schedule: schedule.id,
      metadata: stamped,
    });
    const lastPeriod = invoice({
      id: null,
      status: "draft",
      amount_paid: 0,
      next_payment_attempt: termEnd,
      lines: { data: [{ amount: 499, period: { start: termEnd, end: termEnd + 31 * DAY } }] },
    });
    const patchOf = (s: typeof schedule | null, upcomingInvoice = preview) =>
      buildSubscriptionPatch({ subscription: sub, schedule: s, upcomingInvoice, offerTerm: fixed, now });

    expect(scheduleCancelAt(schedule)).toBe(termEnd);
    expect(patchOf(schedule)).toMatchObject({
      termEndDate: iso(termEnd),
      cancelAt: iso(termEnd),
      cancelAtTermEnd: true,
      stripeScheduleId: "sub_sched_fixed",
      warnings: [],
    });
    // Nothing is predicted at or after the end the schedule cancels at.
    expect(patchOf(schedule, lastPeriod).schedules).toEqual([]);
    // A schedule that releases the subscription, or is no longer live, ends nothing.
    expect(scheduleCancelAt({ ...schedule, end_behavior: "release" })).toBeNull();
    expect(scheduleCancelAt({ ...schedule, status: "released" })).toBeNull();
    expect(patchOf({ ...schedule, end_behavior: "release" })).toMatchObject({
      cancelAt: null,
      cancelAtTermEnd: false,
    });
    // Another schedule than the one attached says nothing about this subscription.
    expect(subscriptionEndsAt({ cancel_at: null, schedule: "sub_sched_other" }, schedule)).toBeNull();
    // cancel_at, when Stripe shows one, is the end.
    expect(subscriptionEndsAt({ cancel_at: termEnd - DAY, schedule: schedule.id }, schedule)).toBe(
      termEnd - DAY,
    );
  });

  it("warns, and shows the billing period, when the term cannot cover what Stripe bills", () => {
    const start = u(2026, 1, 15);
    // A 1-month term on a yearly billing period.
    const yearly = monthly(start, start, u(2027, 1, 15));
    const p = buildSubscriptionPatch({
      subscription: yearly,
      offerTerm: { term: { length: 1, type: "months" }, autoRenew: true },
      now,
    });
    expect(termOf(p)).toEqual([iso(start), iso(u(2027, 1, 15))]);
    expect(p.warnings).toEqual([expect.stringMatching(/a 1 months term .* before the billing period/)]);
    // A fixed term that Stripe is not set to end is worth a warning (the writer sets cancel_at).
    const renewing = buildSubscriptionPatch({
      subscription: monthly(start, start, u(2026, 2, 15)),
      offerTerm: { ...twelveMonths, autoRenew: false },
      now,
    });
    expect(renewing.warnings).toEqual([expect.stringMatching(/fixed 12 months term, but Stripe renews/)]);
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
