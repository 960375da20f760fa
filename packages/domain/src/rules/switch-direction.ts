import type { IntervalUnit, Offer } from "../catalog.ts";
import { DomainRuleError } from "../errors.ts";
import { toMinorUnits } from "./money.ts";

/**
 * change_offer → upgrade (swap now, charge the difference now), downgrade (schedule the lower
 * price from the next period) or same. Offers are compared by what they cost per day, so a
 * monthly and an annual offer compare fairly. See docs/decisions/005-domain-rules.md.
 */

export type SwitchDirection = "upgrade" | "downgrade" | "same";

/** Days per interval unit; a month is the average month so 12 months = 1 year exactly. */
export const DAYS_PER_UNIT: Record<IntervalUnit, number> = {
  days: 1,
  weeks: 7,
  months: 365.25 / 12,
  years: 365.25,
};

/** Sum of the offer's recurring charges per day, in minor units (fractional). One-off charges do not count. */
export function recurringAmountPerDay(offer: Offer): number {
  let perDay = 0;
  for (const c of offer.charges) {
    if (c.type !== "recurring") continue;
    const days = DAYS_PER_UNIT[c.repeat_interval_type!] * c.repeat_interval!;
    perDay += toMinorUnits(c.value, c.currencyCode) / days;
  }
  return perDay;
}

export type SwitchComparison = {
  direction: SwitchDirection;
  currency: string;
  fromPerDay: number;
  toPerDay: number;
  /** (to − from) per year, minor units: what the customer pays more (or less) each year. */
  annualDifference: number;
};

const currencyOf = (offer: Offer) => offer.charges[0]!.currencyCode;

/**
 * "Equal" means the yearly cost differs by less than one minor unit (e.g. £9.99/month vs
 * £119.88/year): such a switch moves no money, so it is `same`.
 */
export function compareOffers(
  from: Offer,
  to: Offer,
  /** What the subscriber pays per day today, when known from Stripe; else the `from` offer's charges. */
  payingPerDay?: number,
): SwitchComparison {
  const currency = currencyOf(from);
  if (currencyOf(to) !== currency) {
    throw new DomainRuleError(
      "currency_mismatch",
      `cannot switch from offer '${from.id}' (${currency}) to offer '${to.id}' (${currencyOf(to)}): ` +
        "a Stripe subscription bills in one currency",
    );
  }
  const fromPerDay = payingPerDay ?? recurringAmountPerDay(from);
  const toPerDay = recurringAmountPerDay(to);
  const annualDifference = (toPerDay - fromPerDay) * DAYS_PER_UNIT.years;
  const direction: SwitchDirection =
    Math.abs(annualDifference) < 1 - 1e-9 ? "same" : annualDifference > 0 ? "upgrade" : "downgrade";
  return { direction, currency, fromPerDay, toPerDay, annualDifference };
}

export const switchDirection = (from: Offer, to: Offer): SwitchDirection => compareOffers(from, to).direction;

/**
 * How the writer applies each direction in Stripe, as it does today.
 * @deprecated Use planSwitch (rules/switch-plan.ts): it also applies the catalog's lists,
 * effectiveDate and switch_date__limio, starts the new period now on an upgrade, keeps a declined
 * upgrade pending, and schedules `same` at the period end (decision 015) instead of swapping now.
 */
export type SwitchPlan =
  | { timing: "immediate"; proration_behavior: "always_invoice" | "none" }
  | { timing: "period_end"; via: "subscription_schedule" };

export function switchPlan(direction: SwitchDirection): SwitchPlan {
  switch (direction) {
    case "upgrade":
      return { timing: "immediate", proration_behavior: "always_invoice" };
    case "downgrade":
      return { timing: "period_end", via: "subscription_schedule" };
    case "same":
      // Nothing to charge or credit: swap the item now so Limio and Stripe agree on the offer at once.
      return { timing: "immediate", proration_behavior: "none" };
  }
}
