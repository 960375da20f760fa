import { LIMIO_OFFER_ID, termEndFromMetadata } from "../stripe/metadata-keys.ts";
import {
  refId,
  type StripeInvoiceLike,
  type StripePaymentMethodLike,
  type StripeSubscriptionLike,
  type StripeSubscriptionStatus,
} from "../stripe/types.ts";
import {
  type PaymentScheduleFromStripe,
  scheduleFromInvoice,
  scheduleFromPreview,
  unixToIso,
} from "./payment-schedules.ts";
import { limioTerm, type OfferTerm } from "./term.ts";

/**
 * Stripe subscription state → the patch the sync applies to the Limio subscription (DESIGN §2,
 * Sync): status and term dates, payment schedules, payment method. Never addresses or names.
 */

export type LimioSubscriptionStatus = "active" | "cancelled" | "pending" | "expired";

/**
 * Limio has four statuses, Stripe eight; Stripe's is kept alongside (`stripeStatus`).
 * - trialing, past_due → active: the customer is still in a term they are entitled to (past_due is dunning).
 * - incomplete, unpaid, paused → pending: waiting for a payment action before access resumes.
 * - incomplete_expired → expired: the first payment never happened, the subscription never started.
 * - canceled → cancelled.
 */
export const LIMIO_STATUS_BY_STRIPE_STATUS: Record<StripeSubscriptionStatus, LimioSubscriptionStatus> = {
  incomplete: "pending",
  incomplete_expired: "expired",
  trialing: "active",
  active: "active",
  past_due: "active",
  canceled: "cancelled",
  unpaid: "pending",
  paused: "pending",
};

export function limioStatusFor(stripeStatus: StripeSubscriptionStatus): LimioSubscriptionStatus {
  const s = LIMIO_STATUS_BY_STRIPE_STATUS[stripeStatus];
  if (!s) throw new Error(`unknown Stripe subscription status '${stripeStatus}'`);
  return s;
}

/** API ≥ 2025-03-31: periods are per item; the term spans them all (earliest start, latest end). */
export function termDates(sub: Pick<StripeSubscriptionLike, "items">): {
  termStartDate: string | null;
  termEndDate: string | null;
  warnings: string[];
} {
  const items = sub.items.data;
  if (items.length === 0)
    return { termStartDate: null, termEndDate: null, warnings: ["subscription has no items"] };
  const warnings = items
    .filter((i) => i.current_period_end < i.current_period_start)
    .map(
      (i) =>
        `item ${i.id} ends (${unixToIso(i.current_period_end)}) before it starts (${unixToIso(i.current_period_start)})`,
    );
  return {
    termStartDate: unixToIso(Math.min(...items.map((i) => i.current_period_start))),
    termEndDate: unixToIso(Math.max(...items.map((i) => i.current_period_end))),
    warnings,
  };
}

export type PaymentMethodSummary = {
  stripePaymentMethodId: string;
  type: string;
  brand: string | null;
  last4: string | null;
  expMonth: number | null;
  expYear: number | null;
};

/** Card brand/last4/expiry; other types (e.g. bacs_debit, sepa_debit) keep their type and last4 only. */
export function paymentMethodSummary(
  pm: StripePaymentMethodLike | null | undefined,
): PaymentMethodSummary | null {
  if (!pm) return null;
  if (pm.type === "card" && pm.card) {
    return {
      stripePaymentMethodId: pm.id,
      type: "card",
      brand: pm.card.brand,
      last4: pm.card.last4,
      expMonth: pm.card.exp_month,
      expYear: pm.card.exp_year,
    };
  }
  const details = pm[pm.type];
  const last4 = details && typeof details === "object" ? (details as { last4?: unknown }).last4 : undefined;
  return {
    stripePaymentMethodId: pm.id,
    type: pm.type,
    brand: null,
    last4: typeof last4 === "string" ? last4 : null,
    expMonth: null,
    expYear: null,
  };
}

export type StripeSubscriptionScheduleLike = {
  id: string;
  status: string;
  /** `release` (Stripe's default) or `cancel`; absent in older fixtures, read as release. */
  end_behavior?: string | null;
  subscription?: string | { id: string } | null;
  phases: { start_date: number; end_date?: number | null; items: { price: string | { id: string } }[] }[];
};

const LIVE_SCHEDULE = new Set(["not_started", "active"]);

/**
 * When a live schedule cancels its subscription (unix seconds): the last phase's end when
 * `end_behavior` is `cancel` ("cancel will end the subscription schedule and cancel the underlying
 * subscription", docs.stripe.com/api/subscription_schedules/object#subscription_schedule_object-end_behavior).
 * null when it releases the subscription, is no longer live, or its last phase has no end.
 */
export function scheduleCancelAt(schedule: StripeSubscriptionScheduleLike | null | undefined): number | null {
  if (!schedule || !LIVE_SCHEDULE.has(schedule.status) || schedule.end_behavior !== "cancel") return null;
  const last = schedule.phases.reduce<StripeSubscriptionScheduleLike["phases"][number] | undefined>(
    (latest, p) => (latest === undefined || p.start_date > latest.start_date ? p : latest),
    undefined,
  );
  return last?.end_date ?? null;
}

/**
 * When Stripe will end the subscription: its `cancel_at`, else the end its attached schedule
 * cancels it at. A schedule-managed subscription takes no `cancel_at` (Stripe refuses it), so a
 * fixed term with a scheduled switch keeps its end on the schedule (decision 015).
 */
export function subscriptionEndsAt(
  sub: Pick<StripeSubscriptionLike, "cancel_at" | "schedule">,
  schedule: StripeSubscriptionScheduleLike | null | undefined,
): number | null {
  if (sub.cancel_at != null) return sub.cancel_at;
  const attached = refId(sub.schedule);
  return schedule && attached === schedule.id ? scheduleCancelAt(schedule) : null;
}

export type PendingChange = { stripeScheduleId: string; effectiveAt: string; priceIds: string[] };

/** A scheduled downgrade: the first phase of a live schedule that starts after `now`. */
export function pendingChangeFromSchedule(
  schedule: StripeSubscriptionScheduleLike | null | undefined,
  now: Date,
): PendingChange | null {
  if (!schedule || !LIVE_SCHEDULE.has(schedule.status)) return null;
  const nowSec = now.getTime() / 1000;
  const next = schedule.phases
    .filter((p) => p.start_date > nowSec)
    .sort((a, b) => a.start_date - b.start_date)[0];
  if (!next) return null;
  return {
    stripeScheduleId: schedule.id,
    effectiveAt: unixToIso(next.start_date),
    priceIds: next.items.flatMap((i) => refId(i.price) ?? []),
  };
}

export type LimioSubscriptionPatch = {
  status: LimioSubscriptionStatus;
  stripeStatus: StripeSubscriptionStatus;
  startDate: string | null;
  termStartDate: string | null;
  termEndDate: string | null;
  cancelAtTermEnd: boolean;
  cancelAt: string | null;
  canceledAt: string | null;
  endedAt: string | null;
  trialEnd: string | null;
  stripeSubscriptionId: string;
  stripeCustomerId: string;
  stripeScheduleId: string | null;
  pendingChange: PendingChange | null;
  /**
   * The Limio offer Stripe bills now (`limio_offer_id` on the item's price, stamped by the writer):
   * follows upgrades at once and downgrades when their schedule phase starts. undefined when no
   * price carries it (e.g. an imported external subscription): leave the stored offer alone.
   */
  offerId?: string;
  /** undefined: not fetched this time, leave the stored one; null: the customer has none. */
  paymentMethod?: PaymentMethodSummary | null;
  /** Every schedule Stripe knows now; applied through reconcileSchedules. */
  schedules: PaymentScheduleFromStripe[];
  syncedAt: string;
  /** Oddities in Stripe's data worth logging; not applied. */
  warnings: string[];
};

export type BuildSubscriptionPatchInput = {
  subscription: StripeSubscriptionLike;
  /** The subscription's recent invoices (any status; drafts and voids are ignored). */
  invoices?: readonly StripeInvoiceLike[];
  /** invoices.createPreview for the subscription, or null when there is none. */
  upcomingInvoice?: StripeInvoiceLike | null;
  /** The customer's invoice_settings.default_payment_method, resolved by the caller. */
  defaultPaymentMethod?: StripePaymentMethodLike | null;
  schedule?: StripeSubscriptionScheduleLike | null;
  /**
   * The Limio offer's term (`term__limio`) and auto-renew. When given, termStart/termEnd follow
   * the term from the date billing started (a 12-month term billed monthly ends 12 months out
   * and rolls over at renewal); without it they are the billing period.
   */
  offerTerm?: OfferTerm;
  now: Date;
};

const isoOrNull = (s: number | null | undefined) => (s == null ? null : unixToIso(s));
const ENDED: readonly StripeSubscriptionStatus[] = ["canceled", "incomplete_expired"];

function invoiceSubscriptionId(inv: StripeInvoiceLike): string | undefined {
  return (
    refId(inv.parent?.subscription_details?.subscription) ??
    refId((inv as { subscription?: unknown }).subscription)
  );
}

/** The schedules Stripe implies: one per finalised invoice of this subscription, plus the preview while it renews. */
export function schedulesFromStripe(input: BuildSubscriptionPatchInput): PaymentScheduleFromStripe[] {
  const sub = withScheduledEnd(input.subscription, input.schedule);
  const schedules = (input.invoices ?? [])
    .filter((inv) => {
      const owner = invoiceSubscriptionId(inv);
      return owner === undefined || owner === sub.id;
    })
    .flatMap((inv) => scheduleFromInvoice(inv) ?? [])
    .sort((a, b) => a.date.localeCompare(b.date) || a.key.localeCompare(b.key));
  // A subscription that ends or will end at term end has no next charge, whatever a preview says.
  const renews = !ENDED.includes(sub.status) && sub.cancel_at_period_end !== true;
  if (input.upcomingInvoice && renews) {
    const next = scheduleFromPreview(input.upcomingInvoice, sub.id);
    const cancelAt = isoOrNull(sub.cancel_at);
    if (cancelAt === null || next.date < cancelAt) schedules.push(next);
  }
  return schedules;
}

function resolvePaymentMethod(input: BuildSubscriptionPatchInput): PaymentMethodSummary | null | undefined {
  if (input.defaultPaymentMethod !== undefined) return paymentMethodSummary(input.defaultPaymentMethod);
  const onSub = input.subscription.default_payment_method;
  if (onSub && typeof onSub === "object") return paymentMethodSummary(onSub);
  return undefined;
}

/** The Limio offer of the first item whose price names one. */
export function billedOffer(sub: StripeSubscriptionLike): { offerId?: string } {
  for (const item of sub.items.data) {
    const offerId = item.price.metadata?.[LIMIO_OFFER_ID];
    if (typeof offerId === "string" && offerId.length > 0) return { offerId };
  }
  return {};
}

/** Where Limio's offer term counts from: billing's anchor (the start, the end of a trial or future start, an upgrade that restarted billing), else the trial's end, else the start. */
export function termAnchor(
  sub: Pick<StripeSubscriptionLike, "billing_cycle_anchor" | "trial_end" | "start_date">,
): number | null {
  return sub.billing_cycle_anchor ?? sub.trial_end ?? sub.start_date ?? null;
}

/**
 * Limio's term from the offer's term (docs/decisions/025): the term of `term__limio` counted from
 * the billing anchor that the current billing period starts in. It rolls over when a renewal
 * starts a period past the old term end, on Stripe's clock (a test clock too), not the sync's.
 * Falls back to the billing period, with a warning, when that term would end before the period
 * Stripe already bills (a term shorter than the billing interval, or an anchor that moved).
 */
export function offerTermDates(
  sub: Pick<
    StripeSubscriptionLike,
    | "items"
    | "billing_cycle_anchor"
    | "trial_end"
    | "start_date"
    | "status"
    | "cancel_at"
    | "cancel_at_period_end"
  >,
  offerTerm: OfferTerm,
): ReturnType<typeof termDates> {
  const periods = termDates(sub);
  const anchor = termAnchor(sub);
  const items = sub.items.data;
  if (anchor === null || items.length === 0) return periods;
  const periodStart = Math.min(...items.map((i) => i.current_period_start));
  const periodEnd = Math.max(...items.map((i) => i.current_period_end));
  const t = limioTerm({
    start: new Date(anchor * 1000),
    term: offerTerm.term,
    now: new Date(periodStart * 1000),
  });
  const { length, type } = offerTerm.term;
  if (t.termEnd.getTime() < periodEnd * 1000) {
    const warning = `a ${length} ${type} term from ${unixToIso(anchor)} ends ${t.termEnd.toISOString()}, before the billing period (${unixToIso(periodEnd)}): billing period shown`;
    return { ...periods, warnings: [...periods.warnings, warning] };
  }
  const warnings = [...periods.warnings];
  const renews = !ENDED.includes(sub.status) && sub.cancel_at == null && sub.cancel_at_period_end !== true;
  if (!offerTerm.autoRenew && renews) {
    warnings.push(`a fixed ${length} ${type} term, but Stripe renews the subscription (no cancel_at)`);
  }
  return { termStartDate: t.termStart.toISOString(), termEndDate: t.termEnd.toISOString(), warnings };
}

/**
 * A fixed term's end as Stripe will enforce it: `cancel_at` when it is the term end the writer
 * asked for (`limio_term_end`, decision 025). Stripe stamps `billing_cycle_anchor` at the create,
 * seconds (or, for an order that waited, longer) after the start the writer planned the term
 * from, so anchor + term misses `cancel_at`, where Stripe ends the subscription ("A timestamp at
 * which the subscription should cancel", docs.stripe.com/api/subscriptions/create#create_subscription-cancel_at).
 * null without the metadata (older or foreign subscriptions) or once `cancel_at` was moved.
 */
export function recordedTermEnd(sub: Pick<StripeSubscriptionLike, "cancel_at" | "metadata">): number | null {
  const recorded = termEndFromMetadata(sub.metadata);
  return recorded !== undefined && sub.cancel_at === recorded ? recorded : null;
}

/**
 * The subscription with `cancel_at` at the end Stripe will enforce (subscriptionEndsAt): the rules
 * below then read a fixed term's end the same whether `cancel_at` or the schedule holds it.
 */
function withScheduledEnd(
  sub: StripeSubscriptionLike,
  schedule: StripeSubscriptionScheduleLike | null | undefined,
): StripeSubscriptionLike {
  const endsAt = subscriptionEndsAt(sub, schedule);
  return endsAt === (sub.cancel_at ?? null) ? sub : { ...sub, cancel_at: endsAt };
}

export function buildSubscriptionPatch(input: BuildSubscriptionPatchInput): LimioSubscriptionPatch {
  const sub = withScheduledEnd(input.subscription, input.schedule);
  const customerId = refId(sub.customer);
  if (!customerId) throw new Error(`subscription ${sub.id} has no customer`);
  const term = input.offerTerm ? offerTermDates(sub, input.offerTerm) : termDates(sub);
  const cancelAt = isoOrNull(sub.cancel_at);
  const fixedEnd = recordedTermEnd(sub);
  const termEndDate = fixedEnd !== null ? unixToIso(fixedEnd) : term.termEndDate;
  const paymentMethod = resolvePaymentMethod(input);
  return {
    status: limioStatusFor(sub.status),
    stripeStatus: sub.status,
    startDate: isoOrNull(sub.start_date),
    termStartDate: term.termStartDate,
    termEndDate,
    // A fixed term ends with `cancel_at` at its end rather than `cancel_at_period_end`.
    cancelAtTermEnd: sub.cancel_at_period_end === true || (cancelAt !== null && cancelAt === termEndDate),
    cancelAt,
    canceledAt: isoOrNull(sub.canceled_at),
    endedAt: isoOrNull(sub.ended_at),
    trialEnd: isoOrNull(sub.trial_end),
    stripeSubscriptionId: sub.id,
    stripeCustomerId: customerId,
    stripeScheduleId: refId(sub.schedule) ?? null,
    pendingChange: pendingChangeFromSchedule(input.schedule, input.now),
    ...billedOffer(sub),
    ...(paymentMethod !== undefined ? { paymentMethod } : {}),
    schedules: schedulesFromStripe(input),
    syncedAt: input.now.toISOString(),
    warnings: term.warnings,
  };
}
