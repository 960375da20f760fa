import { type LimioCharge, type Offer, offerCurrency } from "../catalog.ts";
import { DomainRuleError } from "../errors.ts";
import { LIMIO_OFFER_ID, offerTermMetadata, termEndMetadata } from "../stripe/metadata-keys.ts";
import {
  couponForDiscount,
  discountOff,
  type LimioOrderDiscount,
  type StripeCouponCreateParams,
} from "./discounts.ts";
import { fromMinorUnits, toMinorUnits } from "./money.ts";
import {
  buildPriceParams,
  type StripePriceCreateParams,
  type StripeRecurring,
  stripeRecurring,
} from "./price-params.ts";
import { FieldRefusal, refuse } from "./refusal.ts";
import { addSpan, addUnits, type Span, wholeMultiple } from "./term.ts";

/**
 * A `new` order → the one Stripe subscription that bills it, as a plan the writer executes:
 * - every order item's and add-on's recurring charges are items of ONE subscription (co-termed:
 *   one currency, one billing interval, the first item's term); one-off charges go on the first
 *   invoice (`add_invoice_items`, not discounted);
 * - `orderDiscount` → a coupon on the subscription (rules/discounts.ts);
 * - a future `orderDate`, or recurring charges whose trigger is `delayed` (Limio's trial) →
 *   `trial_end` at the date billing starts: nothing recurring is charged before;
 * - a fixed term (`autoRenew: false`, else the offer's `autoRenew`) → `cancel_at` the term end;
 * - `total`, when the order carries one, must equal what Stripe bills today.
 * Anything Stripe cannot express is refused naming the order field (FieldRefusal).
 */

export type PlannedCharge = {
  /** The order field this charge comes from: `orderItems.0`, `orderItems.0.addOns.1`. */
  path: string;
  role: "offer" | "add_on";
  offerId: string;
  chargeIndex: number;
  price: StripePriceCreateParams;
  quantity: number;
  /** unit_amount × quantity, minor units. */
  amount: number;
};

export type NewOrderPlan = {
  /** The first order item's offer: the subscription's Limio offer. */
  offerId: string;
  currency: string;
  recurring: StripeRecurring;
  /** The Limio term (`term__limio`) of the first offer; add-ons inherit it. */
  term: Span;
  autoRenew: boolean;
  items: PlannedCharge[];
  addInvoiceItems: PlannedCharge[];
  coupon?: StripeCouponCreateParams;
  /** When the first paid billing period starts (now, or later for a future start / trial). */
  billingStart: Date;
  /** Set when billing starts later: the subscription trials until then. */
  trialEnd?: Date;
  /** What asked for the later start: a future `orderDate`, or the offer's delayed charge. */
  trialFrom?: "orderDate" | "orderItems.0.offer.id";
  /** Set for a fixed term: the subscription ends at the term end. */
  cancelAt?: Date;
  /** What made the term fixed: the order's `autoRenew: false`, or the offer's autoRenew. */
  fixedTermFrom?: "autoRenew" | "orderItems.0.offer.id";
  /** What the first invoice charges today, minor units. */
  amountDueToday: number;
};

export type NewOrderInput = {
  orderItems: readonly {
    offer: { id: string };
    quantity?: number | undefined;
    addOns?: readonly AddOnInput[] | undefined;
  }[];
  orderDiscount?: LimioOrderDiscount | null | undefined;
  autoRenew?: boolean | undefined;
  orderDate?: string | undefined;
  isTrial?: boolean | undefined;
  total?: { amount?: number | string | undefined; currency?: string | undefined } | undefined;
};
/** Limio's shop writes `{ addOn: { id, … }, quantity }`; `{ offer: { id } }` is accepted too. */
export type AddOnInput = {
  addOn?: { id: string } | undefined;
  offer?: { id: string } | undefined;
  quantity?: number | undefined;
};

export type PlanLimits = { maxQuantity: number };
export const DEFAULT_PLAN_LIMITS: PlanLimits = { maxQuantity: 1000 };
/** Stripe: at most 20 subscription `items`, and 20 `add_invoice_items` (OpenAPI POST /v1/subscriptions). */
export const STRIPE_MAX_ITEMS = 20;
/** Stripe: `trial_end` at most two years ahead. */
const MAX_TRIAL_DAYS = 730;
/** A start this close to now is "now": clocks of the shop and the bridge differ a little. */
export const FUTURE_TOLERANCE_MS = 5 * 60_000;

/** Is a Limio date (`2026-12-01` or a date-time) after `now`? A date alone means that whole UTC day. */
export function isFutureDate(value: string, now: Date): boolean {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value > now.toISOString().slice(0, 10);
  return Date.parse(value) > now.getTime() + FUTURE_TOLERANCE_MS;
}

const sameRecurring = (a: StripeRecurring, b: StripeRecurring) =>
  a.interval === b.interval && a.interval_count === b.interval_count;
const describe = (r: StripeRecurring) => `every ${r.interval_count} ${r.interval}(s)`;
const spanOf = (r: StripeRecurring): Span => ({
  length: r.interval_count,
  type: `${r.interval}s` as Span["type"],
});

function quantityOf(value: number | undefined, path: string, limits: PlanLimits): number {
  const q = value ?? 1;
  if (!Number.isInteger(q) || q < 1 || q > limits.maxQuantity) {
    return refuse(path, `quantity ${q} is outside 1..${limits.maxQuantity}`);
  }
  return q;
}

type Collected = {
  recurring: { charge: PlannedCharge; recurring: StripeRecurring; delay?: Span }[];
  oneOff: { charge: PlannedCharge; trigger: string }[];
};

function collectCharges(
  offer: Offer,
  path: string,
  role: PlannedCharge["role"],
  quantity: number,
  currency: string,
  into: Collected,
): void {
  if (offerCurrency(offer) !== currency) {
    refuse(path, `offer '${offer.id}' bills in ${offerCurrency(offer)}, the order in ${currency}`);
  }
  offer.charges.forEach((charge: LimioCharge, chargeIndex) => {
    let price: StripePriceCreateParams;
    let recurring: StripeRecurring | undefined;
    try {
      price = buildPriceParams(offer, chargeIndex);
      recurring = stripeRecurring(charge);
    } catch (e) {
      if (e instanceof DomainRuleError) refuse(path, e.message);
      throw e;
    }
    const planned: PlannedCharge = {
      path,
      role,
      offerId: offer.id,
      chargeIndex,
      price,
      quantity,
      amount: price.unit_amount * quantity,
    };
    if (recurring) {
      if (charge.repeat_count !== undefined) {
        refuse(
          path,
          `charge #${chargeIndex} of '${offer.id}' repeats only ${charge.repeat_count} times; not supported`,
        );
      }
      const delay =
        charge.trigger === "delayed"
          ? { length: charge.delay_interval!, type: charge.delay_interval_type! }
          : undefined;
      into.recurring.push({ charge: planned, recurring, ...(delay ? { delay } : {}) });
    } else {
      into.oneOff.push({ charge: planned, trigger: charge.trigger ?? "order_date" });
    }
  });
}

export function planNewOrder(input: {
  order: NewOrderInput;
  findOffer: (offerId: string) => Offer | undefined;
  now: Date;
  limits?: PlanLimits;
}): NewOrderPlan {
  const { order, now } = input;
  const limits = input.limits ?? DEFAULT_PLAN_LIMITS;
  const load = (id: string, path: string): Offer =>
    input.findOffer(id) ?? refuse(path, `no published offer '${id}' in the catalog`);

  if (order.orderItems.length === 0) refuse("orderItems", "a new order needs at least one order item");
  const base = load(order.orderItems[0]!.offer.id, "orderItems.0.offer.id");
  const currency = offerCurrency(base);
  const collected: Collected = { recurring: [], oneOff: [] };

  order.orderItems.forEach((item, i) => {
    const path = `orderItems.${i}`;
    const offer = i === 0 ? base : load(item.offer.id, `${path}.offer.id`);
    collectCharges(
      offer,
      path,
      "offer",
      quantityOf(item.quantity, `${path}.quantity`, limits),
      currency,
      collected,
    );
    (item.addOns ?? []).forEach((addOn, j) => {
      const addOnPath = `${path}.addOns.${j}`;
      const id = addOn.addOn?.id ?? addOn.offer?.id;
      if (!id) refuse(`${addOnPath}.addOn.id`, "required: the add-on's catalog id");
      const addOnOffer = load(id!, `${addOnPath}.addOn.id`);
      const q = quantityOf(addOn.quantity, `${addOnPath}.quantity`, limits);
      collectCharges(addOnOffer, addOnPath, "add_on", q, currency, collected);
    });
  });

  const first = collected.recurring[0];
  if (!first) refuse("orderItems.0.offer.id", `offer '${base.id}' has no recurring charge to subscribe to`);
  const recurring = first!.recurring;
  for (const r of collected.recurring) {
    if (!sameRecurring(r.recurring, recurring)) {
      refuse(
        r.charge.path,
        `bills ${describe(r.recurring)} but the subscription bills ${describe(recurring)}: co-termed items need one interval`,
      );
    }
    // Limio's trial is the delay of the subscription's charges; one delay for all of them.
    if (JSON.stringify(r.delay) !== JSON.stringify(first!.delay)) {
      refuse(
        r.charge.path,
        "its charges start at a different time from the subscription's (a delayed trigger)",
      );
    }
  }

  // Billing starts at the order date when it is ahead, then after Limio's delay (trial).
  const futureStart = order.orderDate !== undefined && isFutureDate(order.orderDate, now);
  const startsAt = futureStart ? new Date(Date.parse(order.orderDate!)) : now;
  const billingStart = first!.delay ? addUnits(startsAt, first!.delay.length, first!.delay.type) : startsAt;
  const trialEnd = billingStart.getTime() > now.getTime() ? billingStart : undefined;
  if (trialEnd && trialEnd.getTime() - now.getTime() > MAX_TRIAL_DAYS * 86_400_000) {
    refuse(
      futureStart ? "orderDate" : "orderItems.0.offer.id",
      `billing would start more than ${MAX_TRIAL_DAYS} days ahead; Stripe allows at most that`,
    );
  }
  if (order.isTrial === true && !trialEnd) {
    refuse("isTrial", `the order asks for a trial but offer '${base.id}' has no delayed charge`);
  }

  const addInvoiceItems = collected.oneOff.map(({ charge, trigger }) => {
    if (trigger === "delayed" || (trialEnd && trigger !== "order_date")) {
      refuse(charge.path, `a one-off charge triggered at '${trigger}' cannot be put on a later invoice`);
    }
    return charge;
  });

  // The term is the catalog offer's (autoRenew__limio): the order can opt out of renewal
  // (false), never make a fixed-term offer renew; true asks for nothing (field-rules.ts).
  const autoRenew = order.autoRenew === false ? false : base.autoRenew;
  let cancelAt: Date | undefined;
  if (!autoRenew) {
    if (wholeMultiple(base.term, spanOf(recurring)) === undefined) {
      refuse(
        order.autoRenew === false ? "autoRenew" : "orderItems.0.offer.id",
        `a fixed term of ${base.term.length} ${base.term.type} does not end on a billing date (${describe(recurring)})`,
      );
    }
    cancelAt = addSpan(billingStart, base.term);
  }

  const hasDiscount =
    order.orderDiscount !== undefined &&
    order.orderDiscount !== null &&
    Object.keys(order.orderDiscount).length > 0;
  let coupon: StripeCouponCreateParams | undefined;
  if (hasDiscount) {
    if (trialEnd) {
      refuse(
        "orderDiscount",
        "a discount on a subscription whose billing starts later is not supported: Stripe would count it from today",
      );
    }
    coupon = couponForDiscount(order.orderDiscount!, { currency, recurring });
  }

  const items = collected.recurring.map((r) => r.charge);
  // Stripe takes at most 20 of each (OpenAPI POST /v1/subscriptions: `items` "A list of up to 20
  // subscription items", `add_invoice_items` "You may pass up to 20 items"): refused here by name
  // rather than by Stripe's 400 after the customer and prices are written.
  if (items.length > STRIPE_MAX_ITEMS) {
    refuse(
      "orderItems",
      `${items.length} recurring charges (order items, add-ons and their charges); one Stripe subscription takes at most ${STRIPE_MAX_ITEMS}`,
    );
  }
  if (addInvoiceItems.length > STRIPE_MAX_ITEMS) {
    refuse(
      "orderItems",
      `${addInvoiceItems.length} one-off charges; Stripe puts at most ${STRIPE_MAX_ITEMS} on a subscription's first invoice`,
    );
  }
  const recurringLines = trialEnd ? [] : items.map((c) => c.amount);
  const amountDueToday =
    recurringLines.reduce((a, b) => a + b, 0) -
    (coupon ? discountOff(coupon, recurringLines) : 0) +
    addInvoiceItems.reduce((a, c) => a + c.amount, 0);

  checkTotal(order.total, currency, amountDueToday);
  return {
    offerId: base.id,
    currency: currency.toLowerCase(),
    recurring,
    term: { length: base.term.length, type: base.term.type },
    autoRenew,
    items,
    addInvoiceItems,
    ...(coupon ? { coupon } : {}),
    billingStart,
    ...(trialEnd ? { trialEnd, trialFrom: futureStart ? "orderDate" : "orderItems.0.offer.id" } : {}),
    ...(cancelAt
      ? { cancelAt, fixedTermFrom: order.autoRenew === false ? "autoRenew" : "orderItems.0.offer.id" }
      : {}),
    amountDueToday,
  };
}

/** The order's own `total` must be what Stripe bills today: never `applied` with another amount. */
export function checkTotal(total: NewOrderInput["total"], currency: string, amountDueToday: number): void {
  if (!total || total.amount === undefined || total.amount === "") return;
  const totalCurrency = (total.currency ?? currency).toUpperCase();
  if (totalCurrency !== currency.toUpperCase()) {
    refuse("total.currency", `${totalCurrency} differs from the offer's currency ${currency.toUpperCase()}`);
  }
  let minor: number;
  try {
    minor = toMinorUnits(total.amount, totalCurrency);
  } catch (e) {
    throw new FieldRefusal("total.amount", (e as Error).message);
  }
  if (minor !== amountDueToday) {
    refuse(
      "total",
      `the order's total ${fromMinorUnits(minor, totalCurrency)} ${totalCurrency} differs from what Stripe would bill today, ${fromMinorUnits(amountDueToday, totalCurrency)} ${totalCurrency}`,
    );
  }
}

const unix = (d: Date) => Math.floor(d.getTime() / 1000);

/**
 * The money-bearing part of Stripe's SubscriptionCreateParams for a plan; `priceId` resolves a
 * planned charge to the Price the writer found or created for its lookup key.
 */
export function subscriptionCreateParams(plan: NewOrderPlan, priceId: (charge: PlannedCharge) => string) {
  return {
    items: plan.items.map((c) => ({ price: priceId(c), quantity: c.quantity })),
    ...(plan.addInvoiceItems.length > 0
      ? {
          add_invoice_items: plan.addInvoiceItems.map((c) => ({
            price: priceId(c),
            quantity: c.quantity,
            discountable: false,
          })),
        }
      : {}),
    ...(plan.coupon ? { discounts: [{ coupon: plan.coupon.id }] } : {}),
    ...(plan.trialEnd ? { trial_end: unix(plan.trialEnd) } : {}),
    ...(plan.cancelAt ? { cancel_at: unix(plan.cancelAt) } : {}),
  };
}

/**
 * The metadata the sync reads on the new subscription: the offer it bills, the offer's term and,
 * for a fixed term, the term end sent as `cancel_at`, the same unix seconds (decision 025: the
 * sync trusts a `cancel_at` equal to this record as the term end; when Stripe's anchor lands
 * later than the plan, the writer moves both, termEndFromAnchor).
 */
export function subscriptionCreateMetadata(plan: NewOrderPlan): Record<string, string> {
  return {
    [LIMIO_OFFER_ID]: plan.offerId,
    ...offerTermMetadata(plan),
    ...(plan.cancelAt ? termEndMetadata(unix(plan.cancelAt)) : {}),
  };
}

/**
 * A fixed term's end counted from Stripe's billing anchor, when it differs from the planned one
 * (the `cancel_at` the create sent); undefined when they agree or the term is not fixed.
 *
 * The plan dates the term from its own billing start, recorded before any write so a retried
 * create sends the same parameters. Stripe anchors billing when it creates the subscription:
 * seconds later normally, hours later for a create retried after an outage or re-driven from the
 * DLQ. A `cancel_at` "during a future period ... will always cause a proration for that period"
 * (docs.stripe.com/api/subscriptions/create), so the planned end would bill the last period
 * short by that gap. The term of N periods runs from the anchor instead.
 */
export function termEndFromAnchor(
  plan: Pick<NewOrderPlan, "term" | "cancelAt">,
  anchor: Date,
): Date | undefined {
  if (!plan.cancelAt) return undefined;
  const termEnd = addSpan(anchor, plan.term);
  return unix(termEnd) === unix(plan.cancelAt) ? undefined : termEnd;
}
