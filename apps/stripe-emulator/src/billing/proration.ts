import type { LineInput } from "./invoices.ts";
import { formatDate } from "./time.ts";

/**
 * Stripe's proration arithmetic (per second of the period):
 *   credit = -(old unit_amount × qty) × remaining / period
 *   charge =  (new unit_amount × qty) × remaining / period
 * each rounded to the nearest integer minor unit (half away from zero),
 * remaining = period_end − proration_date, period = period_end − period_start.
 */
export function prorate(unitAmount: number, quantity: number, remaining: number, period: number): number {
  if (period <= 0 || remaining <= 0) return 0;
  const exact = (unitAmount * quantity * remaining) / period;
  return Math.sign(exact) * Math.round(Math.abs(exact));
}

export type ProrationInput = {
  oldUnitAmount: number;
  oldQuantity: number;
  newUnitAmount: number;
  newQuantity: number;
  periodStart: number;
  periodEnd: number;
  prorationDate: number;
};

export function prorationAmounts(input: ProrationInput): {
  credit: number;
  charge: number;
  remaining: number;
  period: number;
} {
  const period = input.periodEnd - input.periodStart;
  const remaining = Math.max(0, input.periodEnd - Math.max(input.prorationDate, input.periodStart));
  return {
    credit: -prorate(input.oldUnitAmount, input.oldQuantity, remaining, period),
    charge: prorate(input.newUnitAmount, input.newQuantity, remaining, period),
    remaining,
    period,
  };
}

/**
 * A period cut short by `cancel_at`: Stripe "will always cause a proration for that period"
 * when cancel_at falls inside a future period (docs.stripe.com/api/subscriptions/create#create_subscription-cancel_at),
 * so each line bills only [start, cancelAt] of its full period [start, fullEnd], per second like
 * every proration, and is marked as a proration.
 */
export function cutAtCancel(
  lines: LineInput[],
  start: number,
  fullEnd: number,
  cancelAt: number,
): LineInput[] {
  return lines.map((line) => ({
    ...line,
    amount: prorate(line.amount, 1, cancelAt - start, fullEnd - start),
    description: `${line.description} until ${formatDate(cancelAt)}`,
    periodEnd: cancelAt,
    proration: true,
  }));
}
