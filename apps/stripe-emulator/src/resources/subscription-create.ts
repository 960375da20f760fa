import type Stripe from "stripe";
import {
  couponsForNewSubscription,
  discountAmounts,
  discountFrom,
  redeem,
  settleDiscounts,
} from "../billing/discounts.ts";
import {
  attemptInvoicePayment,
  buildInvoice,
  finalizeInvoice,
  isDiscountable,
  type LineInput,
  periodLines,
} from "../billing/invoices.ts";
import { newSubscriptionItem } from "../billing/items.ts";
import { cutAtCancel, prorate } from "../billing/proration.ts";
import { type Interval, nextBoundary } from "../billing/time.ts";
import { type Call, paramsOf } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { invalid } from "../http/errors.ts";
import { arr, atMost, bool, int, metadata, nullableStr, oneOf, requireStr, str } from "../http/params.ts";
import type { Stored } from "../state.ts";
import type { Form } from "../types.ts";
import { getCustomer } from "./customers.ts";
import { createPrice, getPrice } from "./prices.ts";
import { newSetupIntent } from "./setup_intents.ts";
import {
  chargeablePaymentMethod,
  precheckPayment,
  requireAttachedMethod,
} from "./subscription-collection.ts";
import { MAX_ITEMS, newSubscriptionItems, PAYMENT_BEHAVIORS, productName } from "./subscription-plan.ts";

/** `POST /v1/subscriptions` (also used when a subscription schedule starts). */
export function createSubscription(call: Call): Stored<"subscription"> {
  const emu = call.emu;
  const { state } = emu;
  const b = paramsOf<Stripe.SubscriptionCreateParams>(call);
  const customer = getCustomer(call, requireStr(b.customer, "customer"), "customer");
  const paymentBehavior =
    oneOf(b.payment_behavior, PAYMENT_BEHAVIORS, "payment_behavior") ?? "allow_incomplete";
  const defaultPm = nullableStr(b.default_payment_method, "default_payment_method") ?? null;
  if (defaultPm) requireAttachedMethod(emu, defaultPm, customer.id);
  const { items: prices, recurring, currency } = newSubscriptionItems(call, b.items, "items");
  const now = nowFor(emu, customer.test_clock);
  // Trials: the first period runs to trial_end, is invoiced at 0, and the anchor moves to trial_end.
  const trialDays = int(b.trial_period_days, "trial_period_days");
  const trialEnd =
    trialEndOf(b.trial_end, now, "trial_end") ?? (trialDays ? now + trialDays * 86400 : undefined);
  const end = trialEnd ?? nextBoundary(now, now, recurring.interval as Interval, recurring.interval_count);
  const cancelAt = cancelAtOnCreate(b, now, end);
  const prorationBehavior =
    oneOf(b.proration_behavior, ["always_invoice", "create_prorations", "none"], "proration_behavior") ??
    "create_prorations";
  // cancel_at inside the first period: "this will cause a proration if prorations have been
  // enabled using proration_behavior" (docs.stripe.com/api/subscriptions/create#create_subscription-cancel_at).
  const cutFirst = cancelAt !== null && cancelAt < end && prorationBehavior !== "none";
  const firstEnd = cutFirst ? cancelAt : end;
  const coupons = couponsForNewSubscription(call, b.discounts, {
    customer: customer.id,
    currency,
    start: now,
    trial: trialEnd !== undefined,
  });
  if (
    coupons.length > 0 &&
    cancelAt !== null &&
    !onBillingBoundary(
      trialEnd ?? now,
      end,
      cancelAt,
      recurring.interval as Interval,
      recurring.interval_count,
    )
  ) {
    // The last period would be a proration, which Stripe does not discount further; how the
    // discount enters it is not documented, so the emulator refuses the pair.
    throw invalid(
      "The emulator does not model a discount with a cancel_at that is not on a billing period boundary.",
      "cancel_at",
    );
  }
  const oneOff = oneOffLines(call, b.add_invoice_items, now);
  const recurringTotal = trialEnd
    ? 0
    : prices.reduce(
        (sum, p) =>
          sum +
          (cutFirst
            ? prorate((p.price.unit_amount ?? 0) * p.quantity, 1, cancelAt - now, end - now)
            : (p.price.unit_amount ?? 0) * p.quantity),
        0,
      );
  const firstLines = [
    { amount: recurringTotal, discountable: true },
    ...oneOff.map((l) => ({ amount: l.amount, discountable: isDiscountable(l) })),
  ];
  const preview = coupons.map((c) =>
    discountFrom(c, { customer: customer.id, subscription: "", currency, start: now }, c.id),
  );
  const total =
    firstLines.reduce((sum, l) => sum + l.amount, 0) -
    discountAmounts(preview, firstLines).totals.reduce((sum, d) => sum + d.amount, 0);
  if (paymentBehavior === "error_if_incomplete")
    precheckPayment(emu, { default_payment_method: defaultPm }, customer, total);
  const sub: Stored<"subscription"> = {
    id: state.newId("sub"),
    object: "subscription",
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: trialEnd ?? now,
    billing_cycle_anchor_config: null,
    billing_mode: {
      type: b.billing_mode?.type ?? "flexible",
      flexible: { proration_discounts: "included" },
      updated_at: now,
    },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: cancelAt,
    cancel_at_period_end: bool(b.cancel_at_period_end, "cancel_at_period_end") ?? false,
    // Stripe sets canceled_at to the time of the request that scheduled the cancellation.
    canceled_at: cancelAt !== null ? now : null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method:
      oneOf(b.collection_method, ["charge_automatically", "send_invoice"], "collection_method") ??
      "charge_automatically",
    created: now,
    currency,
    customer: customer.id,
    customer_account: null,
    days_until_due: int(b.days_until_due, "days_until_due") ?? null,
    default_payment_method: defaultPm,
    default_source: null,
    default_tax_rates: [],
    description: str(b.description, "description") ?? null,
    discounts: [],
    ended_at: null,
    invoice_settings: {
      account_tax_ids: null,
      custom_fields: null,
      description: null,
      footer: null,
      issuer: { type: "self" },
    },
    latest_invoice: null,
    livemode: false,
    managed_payments: null,
    metadata: metadata(b.metadata),
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: {
      payment_method_options: null,
      payment_method_types: null,
      save_default_payment_method: b.payment_settings?.save_default_payment_method ?? "off",
    },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: now,
    status: trialEnd ? "trialing" : "incomplete",
    test_clock: customer.test_clock ?? null,
    transfer_data: null,
    trial_end: trialEnd ?? null,
    trial_settings: {
      end_behavior: {
        // null: not set, which Stripe reads as `now` (docs.stripe.com/api/subscriptions/object#subscription_object-trial_settings-end_behavior).
        billing_cycle_anchor: null,
        missing_payment_method: b.trial_settings?.end_behavior?.missing_payment_method ?? "create_invoice",
      },
    },
    trial_start: trialEnd ? now : null,
  };
  if (sub.cancel_at_period_end) sub.cancel_at = end;
  state.insert("subscription", sub);
  const items = prices.map((p) =>
    newSubscriptionItem(emu, sub, p.price, p.quantity, now, firstEnd, p.metadata),
  );
  sub.discounts = redeem(
    emu,
    coupons,
    { customer: customer.id, subscription: sub.id, currency, start: now },
    call.request,
  );
  for (const line of oneOff) line.subscription = sub.id;
  const recurringLines = periodLines(emu, sub, items, now, end).map((line) =>
    trialEnd
      ? {
          ...line,
          amount: 0,
          description: `Trial period for ${productName(emu, getPrice(call, line.price.id))}`,
        }
      : line,
  );
  const invoice = buildInvoice(emu, {
    customer,
    subscription: sub,
    billingReason: "subscription_create",
    lines: [...(cutFirst ? cutAtCancel(recurringLines, now, end, cancelAt) : recurringLines), ...oneOff],
    periodStart: now,
    periodEnd: now,
  });
  sub.latest_invoice = invoice.id;
  settleDiscounts(emu, sub, invoice, now, call.request);
  emu.emit("customer.subscription.created", sub, { request: call.request });
  emu.emit("invoice.created", invoice, { request: call.request });
  finalizeInvoice(emu, invoice, call.request);
  if (
    invoice.status === "open" &&
    paymentBehavior !== "default_incomplete" &&
    sub.collection_method === "charge_automatically"
  ) {
    if (chargeablePaymentMethod(emu, sub, customer)) attemptInvoicePayment(emu, invoice, call.request);
  }
  if (sub.collection_method === "send_invoice" && sub.status === "incomplete") {
    sub.status = "active";
  }
  if (trialEnd && paymentBehavior === "default_incomplete" && !chargeablePaymentMethod(emu, sub, customer)) {
    // Stripe collects the card for after the trial with a SetupIntent.
    sub.pending_setup_intent = newSetupIntent(emu, customer, "off_session", call.request).id;
  }
  return sub;
}

/**
 * `trial_end` of a new subscription (docs.stripe.com/api/subscriptions/create#create_subscription-trial_end):
 * a future timestamp, or `now` to end the trial at once (no trial here).
 */
export function trialEndOf(value: unknown, now: number, param: string): number | undefined {
  const trialEnd = value === "now" ? undefined : int(value, param);
  if (trialEnd !== undefined && trialEnd <= now)
    throw invalid("Invalid timestamp: must be an integer Unix timestamp in the future.", param);
  return trialEnd;
}

const ONE_OFF_KEYS = ["price", "price_data", "quantity", "discountable", "metadata"];

/** A one-off item as `add_invoice_items` (or the preview's `invoice_items`) sends it: the fields read here. */
type OneOffParams = {
  price?: string;
  price_data?: Form<Stripe.SubscriptionCreateParams.AddInvoiceItem.PriceData>;
  quantity?: string;
  discountable?: string;
};

/**
 * `add_invoice_items`: one-off prices "appended to the next invoice for this subscription"
 * (docs.stripe.com/api/subscriptions/create#create_subscription-add_invoice_items), the first
 * one, also when it opens a trial; each is `discountable` unless the request says otherwise.
 */
export function oneOffLines(
  call: Call,
  raw: readonly OneOffParams[] | undefined,
  now: number,
  name = "add_invoice_items",
): LineInput[] {
  // OpenAPI POST /v1/subscriptions(/{id}) `add_invoice_items`: "You may pass up to 20 items";
  // POST /v1/invoices/create_preview `invoice_items`: "(up to 250)".
  const max = name === "add_invoice_items" ? MAX_ITEMS : 250;
  return atMost(arr(raw), max, name).map((item, i) => {
    const param = `${name}[${i}]`;
    // Anything else (per-item discounts, periods, tax rates, raw amounts) would change what is
    // billed in ways the emulator does not model: refused by name rather than ignored.
    const other = Object.keys(item ?? {}).find((k) => !ONE_OFF_KEYS.includes(k));
    if (other) throw invalid(`The emulator does not model \`${other}\` on ${name}.`, `${param}[${other}]`);
    const price = item.price
      ? getPrice(call, String(item.price), `${param}[price]`)
      : item.price_data
        ? createPrice(call, item.price_data, { fromPriceData: true, param: `${param}[price_data]` })
        : undefined;
    if (!price)
      throw invalid(`Missing required param: ${param}[price].`, `${param}[price]`, "parameter_missing");
    if (price.recurring)
      throw invalid("add_invoice_items only accepts prices with type=one_time.", `${param}[price]`);
    const quantity = int(item.quantity, `${param}[quantity]`) ?? 1;
    return {
      amount: (price.unit_amount ?? 0) * quantity,
      description: `${quantity} × ${productName(call.emu, price)}`,
      price,
      quantity,
      periodStart: now,
      periodEnd: now,
      subscription: null,
      subscriptionItem: null,
      proration: false,
      discountable: bool(item.discountable, `${param}[discountable]`) ?? true,
    };
  });
}

/**
 * `cancel_at` on create (docs.stripe.com/api/subscriptions/create#create_subscription-cancel_at):
 * a future timestamp, or `min_period_end` / `max_period_end` (the first period's end, every item
 * sharing one period here). `max_billed_until` needs billing schedules, which are not modelled.
 */
function cancelAtOnCreate(b: Form<Stripe.SubscriptionCreateParams>, now: number, end: number): number | null {
  if (b.cancel_at === undefined || b.cancel_at === "") return null;
  if (bool(b.cancel_at_period_end, "cancel_at_period_end")) {
    throw invalid(
      "You may only specify one of these parameters: cancel_at, cancel_at_period_end.",
      "cancel_at",
    );
  }
  if (b.cancel_at === "min_period_end" || b.cancel_at === "max_period_end") return end;
  if (b.cancel_at === "max_billed_until")
    throw invalid("The emulator does not model billing schedules (cancel_at=max_billed_until).", "cancel_at");
  const at = int(b.cancel_at, "cancel_at")!;
  if (at <= now)
    throw invalid("Invalid timestamp: must be an integer Unix timestamp in the future.", "cancel_at");
  return at;
}

/** Whether `at` is one of the subscription's period boundaries (the first `firstEnd`, then every interval from `anchor`). */
function onBillingBoundary(
  anchor: number,
  firstEnd: number,
  at: number,
  interval: Interval,
  count: number,
): boolean {
  let boundary = firstEnd;
  while (boundary < at) boundary = nextBoundary(anchor, boundary, interval, count);
  return boundary === at;
}
