import type { IntervalUnit } from "../catalog.ts";

/**
 * Calendar arithmetic for Limio terms and Stripe billing periods. Months and years are counted
 * from the original anchor and clamped to the month's last day (31 Jan + 1 month = 28/29 Feb,
 * + 2 months = 31 Mar), which is how Stripe advances a billing anchor.
 */

export type Span = { length: number; type: IntervalUnit };

/** A Limio offer's term (`term__limio`) and auto-renew (`autoRenew__limio`), as bought. */
export type OfferTerm = { term: Span; autoRenew: boolean };

/** A span as the store writes it ("12 months"; the singular is read too), else undefined. */
export function parseSpan(text: string | null | undefined): Span | undefined {
  const m = /^\s*([1-9]\d*)\s+(day|week|month|year)s?\s*$/i.exec(text ?? "");
  if (!m) return undefined;
  return { length: Number(m[1]), type: `${m[2]!.toLowerCase()}s` as IntervalUnit };
}

const DAY_MS = 86_400_000;

/** `start` + n units, UTC, month ends clamped against the original day of month. */
export function addUnits(start: Date, n: number, unit: IntervalUnit): Date {
  if (unit === "days") return new Date(start.getTime() + n * DAY_MS);
  if (unit === "weeks") return new Date(start.getTime() + 7 * n * DAY_MS);
  const months = unit === "years" ? 12 * n : n;
  const y = start.getUTCFullYear();
  const m = start.getUTCMonth() + months;
  const targetYear = y + Math.floor(m / 12);
  const targetMonth = ((m % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(targetYear, targetMonth + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      targetYear,
      targetMonth,
      Math.min(start.getUTCDate(), lastDay),
      start.getUTCHours(),
      start.getUTCMinutes(),
      start.getUTCSeconds(),
      start.getUTCMilliseconds(),
    ),
  );
}

export const addSpan = (start: Date, span: Span, times = 1): Date =>
  addUnits(start, span.length * times, span.type);

/** A span in whole months when it is one (months, years), else undefined (days, weeks). */
export function spanInMonths(span: Span): number | undefined {
  if (span.type === "months") return span.length;
  if (span.type === "years") return 12 * span.length;
  return undefined;
}

/** A span in whole days when it is one (days, weeks), else undefined. */
function spanInDays(span: Span): number | undefined {
  if (span.type === "days") return span.length;
  if (span.type === "weeks") return 7 * span.length;
  return undefined;
}

/**
 * How many `inner` spans make one `outer` span, when that is a whole number (12 months / 1 month
 * = 12; 1 year / 3 months = 4); undefined when it is not (1 year / 5 months, 1 month / 1 week):
 * the calendar cannot line them up, so a term of that length cannot end on a billing date.
 */
export function wholeMultiple(outer: Span, inner: Span): number | undefined {
  const om = spanInMonths(outer);
  const im = spanInMonths(inner);
  if (om !== undefined && im !== undefined) return om % im === 0 ? om / im : undefined;
  const od = spanInDays(outer);
  const id = spanInDays(inner);
  if (od !== undefined && id !== undefined) return od % id === 0 ? od / id : undefined;
  return undefined;
}

export type LimioTerm = {
  termStart: Date;
  termEnd: Date;
  /** Terms completed before this one (0 during the first term). */
  renewals: number;
};

/**
 * The Limio term a subscription is in: terms follow the offer's `term__limio` from the date
 * billing started, whatever the billing interval (a 12-month term billed monthly runs 12 months
 * and rolls over at its end). `now` before `start` gives the first term. A fixed-term (not
 * auto-renewing) subscription stays in its only term.
 */
export function limioTerm(input: { start: Date; term: Span; now: Date; autoRenew?: boolean }): LimioTerm {
  const { start, term, now } = input;
  let k = 0;
  if (input.autoRenew !== false && now.getTime() >= start.getTime()) {
    // Estimate from the average length, then correct: month ends make terms uneven.
    const approxMs = addSpan(start, term).getTime() - start.getTime();
    k = Math.max(0, Math.floor((now.getTime() - start.getTime()) / approxMs) - 1);
    while (addSpan(start, term, k + 1).getTime() <= now.getTime()) k++;
    while (k > 0 && addSpan(start, term, k).getTime() > now.getTime()) k--;
  }
  return { termStart: addSpan(start, term, k), termEnd: addSpan(start, term, k + 1), renewals: k };
}
