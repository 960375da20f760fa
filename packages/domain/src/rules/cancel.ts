import { refuse } from "./refusal.ts";

/**
 * `cancel_subscription` → when the Stripe subscription ends. The date is `cancelDate`, else
 * `effectiveDate` (Limio uses both names; when both are given they must name the same day):
 * - none, or up to the end of the current period → at the period end (`cancel_at_period_end`):
 *   the customer paid for the period, it is never ended early nor refunded silently;
 * - after the period end → `cancel_at` that date, `proration_behavior: none` (access until then,
 *   no partial credit).
 */
export type CancelTiming = { cancel_at_period_end: true } | { cancel_at: number; proration_behavior: "none" };

const day = (value: string) => new Date(Date.parse(value)).toISOString().slice(0, 10);

export function cancelTiming(input: {
  cancelDate?: string | undefined;
  effectiveDate?: string | undefined;
  /** The current period's end, unix seconds (the latest item's current_period_end). */
  periodEnd: number;
}): CancelTiming {
  const { cancelDate, effectiveDate, periodEnd } = input;
  if (cancelDate && effectiveDate && day(cancelDate) !== day(effectiveDate)) {
    refuse("effectiveDate", `'${effectiveDate}' disagrees with cancelDate '${cancelDate}'`);
  }
  const date = cancelDate ?? effectiveDate;
  const at = date ? Math.floor(Date.parse(date) / 1000) : undefined;
  if (at !== undefined && Number.isFinite(at) && at > periodEnd) {
    return { cancel_at: at, proration_behavior: "none" };
  }
  return { cancel_at_period_end: true };
}
