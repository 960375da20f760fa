import type { Offer } from "../catalog.ts";
import { DomainRuleError } from "../errors.ts";
import { isFutureDate } from "./new-order-plan.ts";
import {
  buildPriceParams,
  type StripePriceCreateParams,
  type StripeRecurring,
  stripeRecurring,
} from "./price-params.ts";
import { refuse } from "./refusal.ts";
import {
  compareOffers,
  DAYS_PER_UNIT,
  type SwitchComparison,
  type SwitchDirection,
} from "./switch-direction.ts";
import { addUnits } from "./term.ts";

/**
 * `change_offer` → a typed plan the writer executes (docs/decisions/015):
 * - direction: the current offer's `upgrade_offers__limio` / `downgrade_offers__limio` where
 *   they list the target, otherwise value per unit of time (monthly 9.99 = yearly 119.88: `same`),
 *   the current side being what the subscription's items bill in Stripe (a republished offer's
 *   new price is not what a subscriber on the old version pays; decision 022);
 * - timing: the order's `effectiveDate` where given (today or earlier = now), else the target
 *   offer's `switch_date__limio`, else the direction (upgrade now, the rest at the period end);
 * - now: items swapped with `billing_cycle_anchor: {type: "now"}` and `proration_behavior:
 *   always_invoice` (unused time credited, the full new price charged, a new period from today)
 *   and `payment_behavior: pending_if_incomplete`, so a declined payment leaves the subscription
 *   as it was (Stripe's pending updates) and the order is applied only once the invoice is paid;
 * - later: a subscription schedule, the current items until the switch date, then the new ones;
 *   nothing charged today.
 * Quantities and add-on items are kept: the offer's items take the new offer's prices at the
 * base quantity; add-on items (prices of other offers) stay, so they must bill at the new interval.
 */

export type CurrentItem = {
  itemId: string;
  priceId: string;
  /** `limio_offer_id` on the item's price; the current offer's items are replaced, others kept. */
  offerId: string | undefined;
  quantity: number;
  recurring: StripeRecurring;
  /** The price's `unit_amount` (minor units per unit and interval); null for prices without one (tiers). */
  unitAmount?: number | null;
};

export type NewPrice = { chargeIndex: number; price: StripePriceCreateParams; quantity: number };

export type SwitchTiming = "now" | "period_end" | "date";

type PhaseItem = { price: { existing: string } | { lookup_key: string }; quantity: number };

export type SwitchPlanned =
  | { kind: "no_change"; reason: string }
  | {
      kind: "immediate";
      direction: SwitchDirection;
      comparison: SwitchComparison;
      /** Prices the writer finds or creates (by lookup key) before the update. */
      newPrices: NewPrice[];
      /** subscriptions.update, with `{lookup_key}` items resolved to price ids by the writer. */
      update: {
        items: (
          | { id: string; price: { lookup_key: string }; quantity: number }
          | { price: { lookup_key: string }; quantity: number }
        )[];
        proration_behavior: "always_invoice";
        billing_cycle_anchor: { type: "now" };
        payment_behavior: "pending_if_incomplete";
      };
      /** The order is `applied` once the update's invoice is paid, not when the update returns. */
      appliedWhen: "invoice_paid";
    }
  | {
      kind: "scheduled";
      direction: SwitchDirection;
      comparison: SwitchComparison;
      timing: "period_end" | "date";
      switchAt: Date;
      newPrices: NewPrice[];
      /** subscriptionSchedules.update phases: the current items until `switchAt`, then the new ones. */
      phases: [
        { items: PhaseItem[]; end_date: number; proration_behavior: "none" },
        {
          items: PhaseItem[];
          start_date: number;
          billing_cycle_anchor: "phase_start";
          /** At the period end there is nothing to prorate; at another date unused time is credited. */
          proration_behavior: "none" | "create_prorations";
        } & (
          | { duration: { interval: StripeRecurring["interval"]; interval_count: number } }
          /** A fixed term: the new offer runs until the term's end, where the subscription ends. */
          | { end_date: number }
        ),
      ];
      /** `cancel` for a fixed term (the subscription's `cancel_at`, decision 015), else `release`. */
      end_behavior: "release" | "cancel";
    };

/** Does a Limio list (ids, names or `/offers2/<name>` paths) name this offer? */
export function listsOffer(list: readonly string[] | undefined, offer: Offer): boolean {
  return (list ?? []).some(
    (entry) => entry === offer.id || entry === offer.name || entry.split("/").pop() === offer.name,
  );
}

const DAYS_PER_STRIPE_INTERVAL: Record<StripeRecurring["interval"], number> = {
  day: DAYS_PER_UNIT.days,
  week: DAYS_PER_UNIT.weeks,
  month: DAYS_PER_UNIT.months,
  year: DAYS_PER_UNIT.years,
};

/**
 * What the offer's items bill per day and unit in Stripe (minor units): what the subscriber
 * actually pays, whatever the catalog's current version of the offer says. Undefined when an
 * item has no `unit_amount` (then the offer's charges are compared).
 */
export function payingPerDay(offerItems: readonly CurrentItem[]): number | undefined {
  if (offerItems.length === 0) return undefined;
  let perDay = 0;
  for (const item of offerItems) {
    if (item.unitAmount === undefined || item.unitAmount === null) return undefined;
    perDay +=
      item.unitAmount / (DAYS_PER_STRIPE_INTERVAL[item.recurring.interval] * item.recurring.interval_count);
  }
  return perDay;
}

/** The catalog's word first (`upgrade_offers__limio` / `downgrade_offers__limio`), else value. */
export function catalogSwitchDirection(
  from: Offer,
  to: Offer,
  /** What the subscriber pays per day (payingPerDay), when known. */
  paying?: number,
): { direction: SwitchDirection; comparison: SwitchComparison; decidedBy: "catalog" | "value" } {
  const comparison = compareOffers(from, to, paying);
  if (listsOffer(from.upgrade_offers__limio, to))
    return { direction: "upgrade", comparison, decidedBy: "catalog" };
  if (listsOffer(from.downgrade_offers__limio, to))
    return { direction: "downgrade", comparison, decidedBy: "catalog" };
  return { direction: comparison.direction, comparison, decidedBy: "value" };
}

/** Limio's `switch_date__limio` words; anything else is refused rather than guessed. */
export const SWITCH_DATE_WORDS: Record<string, "now" | "period_end"> = {
  immediate: "now",
  immediately: "now",
  now: "now",
  next_billing_date: "period_end",
  next_schedule: "period_end",
  next_payment_date: "period_end",
  end_of_period: "period_end",
  period_end: "period_end",
};

export function switchTiming(input: {
  direction: SwitchDirection;
  to: Offer;
  effectiveDate?: string | undefined;
  now: Date;
  periodEnd: Date;
}): { timing: SwitchTiming; at: Date } {
  const { effectiveDate, now, periodEnd } = input;
  if (effectiveDate !== undefined) {
    if (!isFutureDate(effectiveDate, now)) return { timing: "now", at: now };
    const at = new Date(Date.parse(effectiveDate));
    // A date-only effectiveDate on the period end's day means the period end itself.
    if (
      effectiveDate.slice(0, 10) === periodEnd.toISOString().slice(0, 10) ||
      at.getTime() === periodEnd.getTime()
    ) {
      return { timing: "period_end", at: periodEnd };
    }
    return { timing: "date", at };
  }
  const word = input.to.switch_date__limio;
  if (word !== undefined) {
    const timing = SWITCH_DATE_WORDS[word.trim().toLowerCase()];
    if (!timing) {
      throw new DomainRuleError(
        "unsupported_offer",
        `offer '${input.to.id}': switch_date__limio '${word}' is not one of ${Object.keys(SWITCH_DATE_WORDS).join(", ")}`,
      );
    }
    return timing === "now" ? { timing, at: now } : { timing, at: periodEnd };
  }
  return input.direction === "upgrade" ? { timing: "now", at: now } : { timing: "period_end", at: periodEnd };
}

const unix = (d: Date) => Math.floor(d.getTime() / 1000);

export function planSwitch(input: {
  /** The offer version the subscription is on (its recorded version, decision 022), for its lists. */
  from: Offer;
  to: Offer;
  current: readonly CurrentItem[];
  effectiveDate?: string | undefined;
  /** The end of the current billing period (the latest item's `current_period_end`). */
  periodEnd: Date;
  /** A fixed term's end: the subscription's `cancel_at` (decision 015); a scheduled switch keeps it. */
  termEnd?: Date | undefined;
  now: Date;
}): SwitchPlanned {
  const { from, to, current, now, periodEnd } = input;
  if (from.id === to.id)
    return { kind: "no_change", reason: `the subscription is already on offer '${to.id}'` };
  const offerItems = current.filter((i) => i.offerId === undefined || i.offerId === from.id);
  const keptItems = current.filter((i) => !offerItems.includes(i));
  if (offerItems.length === 0) refuse("offer.id", `no item of the subscription bills offer '${from.id}'`);
  const { direction, comparison } = catalogSwitchDirection(from, to, payingPerDay(offerItems));
  const timing = switchTiming({ direction, to, effectiveDate: input.effectiveDate, now, periodEnd });

  const quantity = offerItems[0]!.quantity;

  const newPrices: NewPrice[] = [];
  let interval: StripeRecurring | undefined;
  to.charges.forEach((charge, chargeIndex) => {
    const recurring = stripeRecurring(charge);
    if (!recurring) refuse("offer.id", `offer '${to.id}' has a one-off charge; a switch cannot bill it`);
    if (
      interval &&
      (interval.interval !== recurring!.interval || interval.interval_count !== recurring!.interval_count)
    ) {
      refuse("offer.id", `offer '${to.id}' bills at two intervals`);
    }
    interval = recurring;
    newPrices.push({ chargeIndex, price: buildPriceParams(to, chargeIndex), quantity });
  });
  if (!interval) refuse("offer.id", `offer '${to.id}' has no recurring charge`);
  for (const kept of keptItems) {
    if (
      kept.recurring.interval !== interval!.interval ||
      kept.recurring.interval_count !== interval!.interval_count
    ) {
      refuse(
        "offer.id",
        `add-on item ${kept.itemId} bills every ${kept.recurring.interval_count} ${kept.recurring.interval}(s); offer '${to.id}' every ${interval!.interval_count} ${interval!.interval}(s)`,
      );
    }
  }

  if (timing.timing === "now") {
    // Pending updates accept only items' price and quantity (Stripe's pending updates reference):
    // old items are re-priced in place, extra new prices added, but none can be deleted.
    if (offerItems.length > newPrices.length) {
      refuse(
        "offer.id",
        `offer '${to.id}' has fewer charges than '${from.id}'; an immediate switch cannot remove items`,
      );
    }
    return {
      kind: "immediate",
      direction,
      comparison,
      newPrices,
      update: {
        items: newPrices.map((p, i) => ({
          ...(offerItems[i] ? { id: offerItems[i]!.itemId } : {}),
          price: { lookup_key: p.price.lookup_key },
          quantity,
        })),
        proration_behavior: "always_invoice",
        billing_cycle_anchor: { type: "now" },
        payment_behavior: "pending_if_incomplete",
      },
      appliedWhen: "invoice_paid",
    };
  }
  const existing = (i: CurrentItem): PhaseItem => ({ price: { existing: i.priceId }, quantity: i.quantity });
  const termEnd = input.termEnd;
  if (termEnd) fixedTermFits(to, timing.at, termEnd, interval!);
  return {
    kind: "scheduled",
    direction,
    comparison,
    timing: timing.timing,
    switchAt: timing.at,
    newPrices,
    phases: [
      { items: current.map(existing), end_date: unix(timing.at), proration_behavior: "none" },
      {
        items: [
          ...newPrices.map((p) => ({ price: { lookup_key: p.price.lookup_key }, quantity: p.quantity })),
          ...keptItems.map(existing),
        ],
        start_date: unix(timing.at),
        billing_cycle_anchor: "phase_start",
        // At a date inside a billing period the unused time is credited; at the period end there is none.
        proration_behavior: timing.timing === "date" ? "create_prorations" : "none",
        ...(termEnd
          ? { end_date: unix(termEnd) }
          : { duration: { interval: interval!.interval, interval_count: interval!.interval_count } }),
      },
    ],
    // A schedule's phases replace the subscription's own end (a schedule-managed subscription
    // takes no cancel_at), so a fixed term ends with the schedule: its last phase, then cancel.
    end_behavior: termEnd ? "cancel" : "release",
  };
}

const UNIT_OF: Record<StripeRecurring["interval"], "days" | "weeks" | "months" | "years"> = {
  day: "days",
  week: "weeks",
  month: "months",
  year: "years",
};

/**
 * A switch on a fixed term keeps the term's end: it must come before that end, and the new
 * offer must bill whole periods up to it (as a fixed term must at creation, decision 015), so the
 * subscription still ends on a period end with nothing to prorate.
 */
function fixedTermFits(to: Offer, switchAt: Date, termEnd: Date, interval: StripeRecurring): void {
  if (switchAt.getTime() >= termEnd.getTime()) {
    refuse(
      "effectiveDate",
      `the subscription's fixed term ends at ${termEnd.toISOString()}, before the switch at ${switchAt.toISOString()}`,
    );
  }
  for (let n = 1; n <= 1200; n++) {
    const end = addUnits(switchAt, n * interval.interval_count, UNIT_OF[interval.interval]).getTime();
    if (end === termEnd.getTime()) return;
    if (end > termEnd.getTime()) break;
  }
  refuse(
    "offer.id",
    `offer '${to.id}' bills every ${interval.interval_count} ${interval.interval}(s): not whole periods from the switch at ${switchAt.toISOString()} to the fixed term's end at ${termEnd.toISOString()}`,
  );
}
