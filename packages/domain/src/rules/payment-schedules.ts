import type { StripeInvoiceLike } from "../stripe/types.ts";
import { fromMinorUnits } from "./money.ts";

/**
 * Limio payment schedules from Stripe invoices. Limio keeps one schedule record per charge:
 * history (paid, failed) and what comes next (scheduled). Each schedule is keyed so a re-sync
 * recognises it: `invoice:<in_…>` for real invoices, `upcoming:<sub_…>:<period start>` for the
 * preview, whose id Stripe does not keep stable.
 */

/** paid: collected; due: open, not yet attempted; failed: attempted and unpaid, or uncollectible; scheduled: the preview; cancelled: no longer expected. */
export type PaymentScheduleStatus = "paid" | "due" | "failed" | "scheduled" | "cancelled";

export type PaymentSchedule = {
  key: string;
  /** The Limio `schedule-…` id once the store assigned one. */
  id?: string;
  stripeInvoiceId: string | null;
  status: PaymentScheduleStatus;
  /** When it was paid, is due, or is expected to be charged (ISO 8601). */
  date: string;
  /** Minor units, and the same as a Limio decimal string. */
  amount: number;
  amountDecimal: string;
  amountWithoutTax: number | null;
  taxAmount: number | null;
  currency: string;
  periodStart: string | null;
  periodEnd: string | null;
  description: string | null;
};
/** What Stripe says now (never `cancelled`, never a Limio id). */
export type PaymentScheduleFromStripe = Omit<PaymentSchedule, "id" | "status"> & {
  status: Exclude<PaymentScheduleStatus, "cancelled">;
};

export const unixToIso = (seconds: number): string => new Date(seconds * 1000).toISOString();

function linePeriod(inv: StripeInvoiceLike): { start: number; end: number } | null {
  const periods = (inv.lines?.data ?? []).flatMap((l) => (l.period ? [l.period] : []));
  if (periods.length === 0) return null;
  return { start: Math.min(...periods.map((p) => p.start)), end: Math.max(...periods.map((p) => p.end)) };
}

function amounts(inv: StripeInvoiceLike, amount: number) {
  const currency = inv.currency.toUpperCase();
  const withoutTax = inv.total_excluding_tax ?? null;
  return {
    amount,
    amountDecimal: fromMinorUnits(amount, currency),
    amountWithoutTax: withoutTax,
    taxAmount: withoutTax === null ? null : inv.total - withoutTax,
    currency,
  };
}

function periodAndDescription(inv: StripeInvoiceLike) {
  const p = linePeriod(inv);
  return {
    periodStart: p ? unixToIso(p.start) : null,
    periodEnd: p ? unixToIso(p.end) : null,
    description: inv.lines?.data.find((l) => l.description)?.description ?? null,
  };
}

/**
 * A finalised invoice → schedule. Drafts can still change and voided invoices were never owed,
 * so both yield null (a stored schedule for them is then cancelled by reconcileSchedules).
 */
export function scheduleFromInvoice(inv: StripeInvoiceLike): PaymentScheduleFromStripe | null {
  if (!inv.id) return null;
  let status: PaymentScheduleFromStripe["status"];
  let date: number;
  let amount: number;
  switch (inv.status) {
    case "paid":
      status = "paid";
      date = inv.status_transitions?.paid_at ?? inv.created;
      amount = inv.amount_paid;
      break;
    case "open":
      status = (inv.attempt_count ?? 0) > 0 ? "failed" : "due";
      date = inv.due_date ?? inv.next_payment_attempt ?? inv.created;
      amount = inv.amount_due;
      break;
    case "uncollectible":
      status = "failed";
      date = inv.due_date ?? inv.created;
      amount = inv.amount_due;
      break;
    default:
      return null;
  }
  return {
    key: `invoice:${inv.id}`,
    stripeInvoiceId: inv.id,
    status,
    date: unixToIso(date),
    ...amounts(inv, amount),
    ...periodAndDescription(inv),
  };
}

/** The preview (upcoming) invoice → the one `scheduled` schedule, keyed by its service period. */
export function scheduleFromPreview(
  preview: StripeInvoiceLike,
  stripeSubscriptionId: string,
): PaymentScheduleFromStripe {
  const period = linePeriod(preview);
  const anchor = period?.start ?? preview.period_end ?? preview.created;
  return {
    key: `upcoming:${stripeSubscriptionId}:${anchor}`,
    stripeInvoiceId: null,
    status: "scheduled",
    // The renewal date; never `created` first: a preview's `created` may be the time of the call.
    date: unixToIso(preview.next_payment_attempt ?? period?.start ?? preview.created),
    ...amounts(preview, preview.amount_due),
    ...periodAndDescription(preview),
  };
}

export type ScheduleReconciliation = {
  create: PaymentScheduleFromStripe[];
  update: { stored: PaymentSchedule; next: PaymentSchedule }[];
  cancel: PaymentSchedule[];
  keep: PaymentSchedule[];
};

const COMPARED = [
  "stripeInvoiceId",
  "status",
  "date",
  "amount",
  "amountDecimal",
  "amountWithoutTax",
  "taxAmount",
  "currency",
  "periodStart",
  "periodEnd",
  "description",
] as const satisfies readonly (keyof PaymentSchedule)[];

const sameContent = (a: PaymentSchedule, b: PaymentScheduleFromStripe) =>
  COMPARED.every((k) => a[k] === b[k]);

/**
 * Stored schedules vs what Stripe says now. Stored schedules Stripe no longer has are cancelled
 * when they are still in the future or were only a prediction (`scheduled`: the invoice it
 * predicted now exists under its own key); past ones are kept as history, because the sync reads
 * only recent invoices.
 */
export function reconcileSchedules(
  stored: readonly PaymentSchedule[],
  fromStripe: readonly PaymentScheduleFromStripe[],
  now: Date,
): ScheduleReconciliation {
  const wanted = new Map<string, PaymentScheduleFromStripe>();
  for (const s of fromStripe) if (!wanted.has(s.key)) wanted.set(s.key, s);
  const storedByKey = new Map(stored.map((s) => [s.key, s]));
  const out: ScheduleReconciliation = { create: [], update: [], cancel: [], keep: [] };

  for (const s of stored) {
    const w = wanted.get(s.key);
    if (w) {
      if (sameContent(s, w)) out.keep.push(s);
      else out.update.push({ stored: s, next: { ...s, ...w } });
    } else if (s.status !== "cancelled" && (s.status === "scheduled" || Date.parse(s.date) > now.getTime())) {
      out.cancel.push(s);
    } else {
      out.keep.push(s);
    }
  }
  for (const w of wanted.values()) if (!storedByKey.has(w.key)) out.create.push(w);
  return out;
}

/** The schedule list after a reconciliation: stored order kept, new ones appended in Stripe's order. */
export function applyScheduleReconciliation(
  stored: readonly PaymentSchedule[],
  r: ScheduleReconciliation,
): PaymentSchedule[] {
  const updated = new Map(r.update.map((u) => [u.stored.key, u.next]));
  const cancelled = new Set(r.cancel.map((c) => c.key));
  return [
    ...stored.map(
      (s) => updated.get(s.key) ?? (cancelled.has(s.key) ? { ...s, status: "cancelled" as const } : s),
    ),
    ...r.create,
  ];
}
