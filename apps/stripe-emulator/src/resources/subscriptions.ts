import { chargeDecline, needsAuthentication } from "../billing/cards.ts";
import {
  attemptInvoicePayment,
  buildInvoice,
  finalizeInvoice,
  formatMoney,
  type LineInput,
  periodLines,
} from "../billing/invoices.ts";
import { applyItemChanges, itemsOf, newSubscriptionItem, type StoredItemUpdate } from "../billing/items.ts";
import { prorationAmounts } from "../billing/proration.ts";
import { cancelSubscriptionNow, collectAutomatically, takePendingItems } from "../billing/renewal.ts";
import { formatDate, type Interval, nextBoundary } from "../billing/time.ts";
import type { Call, Emulator, Route } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { cardError, invalid, noSuch } from "../http/errors.ts";
import { paginate } from "../http/pagination.ts";
import { arr, bool, int, mergeMetadata, metadata, nullable, oneOf, requireStr, str } from "../http/params.ts";
import type { StripeObject } from "../types.ts";
import { getCustomer } from "./customers.ts";
import { createPrice, getPrice } from "./prices.ts";
import { newSetupIntent } from "./setup_intents.ts";

const PAYMENT_BEHAVIORS = [
  "allow_incomplete",
  "default_incomplete",
  "error_if_incomplete",
  "pending_if_incomplete",
] as const;
const PRORATION_BEHAVIORS = ["always_invoice", "create_prorations", "none"] as const;
type ProrationBehavior = (typeof PRORATION_BEHAVIORS)[number];

export function getSubscription(call: Call, id: string, param = "id"): StripeObject {
  const sub = call.emu.state.get("subscription", id);
  if (!sub) throw noSuch("subscription", id, param);
  return sub;
}

function resolveItemPrice(call: Call, raw: StripeObject, i: number): StripeObject | undefined {
  if (raw.price) return getPrice(call, String(raw.price), `items[${i}][price]`);
  if (raw.price_data)
    return createPrice(call, raw.price_data, { fromPriceData: true, param: `items[${i}][price_data]` });
  return undefined;
}

function productName(emu: Emulator, price: StripeObject): string {
  return emu.state.get("product", price.product)?.name ?? price.nickname ?? price.id;
}

type ItemChange = {
  item: StripeObject | null;
  price: StripeObject;
  quantity: number;
  deleted: boolean;
  metadata?: Record<string, string>;
};

export type UpdatePlan = {
  changes: ItemChange[];
  prorationLines: LineInput[];
  periodLines: LineInput[];
  resetAnchor: boolean;
  periodStart: number;
  periodEnd: number;
  newPeriodEnd: number;
  prorationDate: number;
  prorationBehavior: ProrationBehavior;
  now: number;
};

/** Work out an item change and its prorations without touching state (also used by create_preview). */
export function planItemsUpdate(
  call: Call,
  sub: StripeObject,
  itemsParam: unknown,
  options: { prorationBehavior?: string; prorationDate?: unknown; billingCycleAnchor?: unknown },
): UpdatePlan {
  const emu = call.emu;
  const now = nowFor(emu, sub.test_clock);
  const existing = itemsOf(emu, sub.id);
  const changes: ItemChange[] = existing.map((item) => ({
    item,
    price: item.price,
    quantity: item.quantity,
    deleted: false,
  }));
  arr(itemsParam).forEach((raw, i) => {
    if (raw.id) {
      const change = changes.find((c) => c.item?.id === raw.id);
      if (!change) throw noSuch("subscription item", String(raw.id), `items[${i}][id]`);
      if (bool(raw.deleted, `items[${i}][deleted]`)) change.deleted = true;
      const price = resolveItemPrice(call, raw, i);
      if (price) change.price = price;
      const qty = int(raw.quantity, `items[${i}][quantity]`);
      if (qty !== undefined) change.quantity = qty;
      if (raw.metadata !== undefined) change.metadata = mergeMetadata(change.item!.metadata, raw.metadata);
    } else {
      const price = resolveItemPrice(call, raw, i);
      if (!price)
        throw invalid(
          `Missing required param: items[${i}][price].`,
          `items[${i}][price]`,
          "parameter_missing",
        );
      changes.push({
        item: null,
        price,
        quantity: int(raw.quantity, `items[${i}][quantity]`) ?? 1,
        deleted: false,
        metadata: metadata(raw.metadata),
      });
    }
  });
  const remaining = changes.filter((c) => !c.deleted);
  if (remaining.length === 0) throw invalid("A subscription must have at least one active plan.", "items");
  const first = remaining[0]!.price.recurring;
  if (!first)
    throw invalid(
      "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.",
      "items",
    );
  for (const c of remaining) {
    if (
      c.price.recurring?.interval !== first.interval ||
      c.price.recurring?.interval_count !== first.interval_count
    ) {
      throw invalid(
        "Currency and interval fields must match across all plans on this subscription.",
        "items",
      );
    }
  }
  const periodStart = existing[0]!.current_period_start;
  const periodEnd = existing[0]!.current_period_end;
  const oldRecurring = existing[0]!.price.recurring;
  const anchorType = options.billingCycleAnchor === undefined ? "unchanged" : options.billingCycleAnchor;
  if (typeof anchorType === "string" && anchorType !== "unchanged") {
    throw invalid(
      "Invalid object: billing_cycle_anchor must be an object such as { type: 'now' } since API version 2026-09-30.",
      "billing_cycle_anchor",
    );
  }
  const anchor =
    typeof anchorType === "object" && anchorType ? (anchorType as StripeObject).type : "unchanged";
  if (anchor !== "now" && anchor !== "unchanged")
    throw invalid("Invalid billing_cycle_anchor[type]", "billing_cycle_anchor[type]");
  const resetAnchor =
    anchor === "now" ||
    oldRecurring.interval !== first.interval ||
    oldRecurring.interval_count !== first.interval_count;
  const prorationBehavior =
    oneOf(options.prorationBehavior, PRORATION_BEHAVIORS, "proration_behavior") ?? "create_prorations";
  const prorationDate = int(options.prorationDate, "proration_date") ?? now;
  const newPeriodEnd = resetAnchor
    ? nextBoundary(now, now, first.interval as Interval, first.interval_count)
    : periodEnd;
  const prorationLines: LineInput[] = [];
  if (prorationBehavior !== "none") {
    for (const c of changes) {
      const oldPrice = c.item?.price;
      const oldQty = c.item?.quantity ?? 0;
      const changed = !c.item || c.deleted || oldPrice.id !== c.price.id || oldQty !== c.quantity;
      if (!changed) continue;
      const amounts = prorationAmounts({
        oldUnitAmount: oldPrice?.unit_amount ?? 0,
        oldQuantity: oldQty,
        newUnitAmount: c.price.unit_amount ?? 0,
        newQuantity: c.deleted ? 0 : c.quantity,
        periodStart,
        periodEnd,
        prorationDate,
      });
      const date = formatDate(prorationDate);
      if (c.item && amounts.credit !== 0) {
        prorationLines.push({
          amount: amounts.credit,
          description: `Unused time on ${oldQty} × ${productName(emu, oldPrice)} after ${date}`,
          price: oldPrice,
          quantity: oldQty,
          periodStart: prorationDate,
          periodEnd,
          subscription: sub.id,
          subscriptionItem: c.item.id,
          proration: true,
        });
      }
      if (!resetAnchor && !c.deleted && amounts.charge !== 0) {
        prorationLines.push({
          amount: amounts.charge,
          description: `Remaining time on ${c.quantity} × ${productName(emu, c.price)} after ${date}`,
          price: c.price,
          quantity: c.quantity,
          periodStart: prorationDate,
          periodEnd,
          subscription: sub.id,
          subscriptionItem: c.item?.id ?? null,
          proration: true,
        });
      }
    }
  }
  const full: LineInput[] = resetAnchor
    ? remaining.map((c) => ({
        amount: (c.price.unit_amount ?? 0) * c.quantity,
        description: `${c.quantity} × ${productName(emu, c.price)} (at ${formatMoney(c.price.unit_amount ?? 0, c.price.currency)} / ${first.interval})`,
        price: c.price,
        quantity: c.quantity,
        periodStart: now,
        periodEnd: newPeriodEnd,
        subscription: sub.id,
        subscriptionItem: c.item?.id ?? null,
        proration: false,
      }))
    : [];
  return {
    changes,
    prorationLines,
    periodLines: full,
    resetAnchor,
    periodStart,
    periodEnd,
    newPeriodEnd,
    prorationDate,
    prorationBehavior,
    now,
  };
}

function chargeablePaymentMethod(
  emu: Emulator,
  sub: StripeObject,
  customer: StripeObject,
): StripeObject | null {
  const id = sub.default_payment_method ?? customer.invoice_settings.default_payment_method;
  return id ? (emu.state.get("payment_method", id) ?? null) : null;
}

function wouldFailToCollect(
  emu: Emulator,
  sub: StripeObject,
  customer: StripeObject,
  amount: number,
): boolean {
  if (amount <= 0) return false;
  const pm = chargeablePaymentMethod(emu, sub, customer);
  return !pm || chargeDecline(pm._card) !== null || needsAuthentication(pm._card, pm._set_up === true);
}

/** Stripe's error_if_incomplete: refuse before changing anything when the charge would fail. */
function precheckPayment(emu: Emulator, sub: StripeObject, customer: StripeObject, amount: number): void {
  if (amount <= 0) return;
  const pm = chargeablePaymentMethod(emu, sub, customer);
  if (!pm) {
    throw invalid(
      "This customer has no attached payment source or default payment method. Please consider adding a default payment method.",
      undefined,
      "resource_missing",
    );
  }
  const decline = chargeDecline(pm._card);
  if (decline)
    throw cardError(decline.message, decline.code, decline.declineCode, {
      payment_method: emu.state.render(pm),
    });
  // "error_if_incomplete: … if a payment method requires 3DS authentication … returns an error
  // instead" (docs.stripe.com/api/subscriptions/create#create_subscription-payment_behavior).
  if (needsAuthentication(pm._card, pm._set_up === true))
    throw cardError(
      "This payment requires additional user action before it can be completed successfully.",
      "invoice_payment_intent_requires_action",
      undefined,
      { payment_method: emu.state.render(pm) },
    );
}

function newInvoiceItem(call: Call, sub: StripeObject, line: LineInput): StripeObject {
  const { state } = call.emu;
  const ii: StripeObject = {
    id: state.newId("ii"),
    object: "invoiceitem",
    amount: line.amount,
    currency: line.price.currency,
    customer: sub.customer,
    customer_account: null,
    date: nowFor(call.emu, sub.test_clock),
    description: line.description,
    discountable: false,
    discounts: [],
    invoice: null,
    livemode: false,
    metadata: {},
    net_amount: line.amount,
    parent: {
      type: "subscription_details",
      subscription_details: { subscription: sub.id, subscription_item: line.subscriptionItem },
    },
    period: { end: line.periodEnd, start: line.periodStart },
    pricing: {
      type: "price_details",
      price_details: { price: line.price.id, product: line.price.product },
      unit_amount_decimal: String(line.price.unit_amount),
    },
    proration: line.proration,
    quantity: line.quantity,
    quantity_decimal: String(line.quantity),
    tax_rates: [],
    test_clock: sub.test_clock,
    _subscription_item: line.subscriptionItem,
  };
  state.insert("invoiceitem", ii);
  call.emu.emit("invoiceitem.created", ii, { request: call.request });
  return ii;
}

/** `POST /v1/subscriptions` (also used when a subscription schedule starts). */
export function createSubscription(call: Call): StripeObject {
  const emu = call.emu;
  const { state } = emu;
  const b = call.body;
  const customer = getCustomer(call, requireStr(b.customer, "customer"), "customer");
  const rawItems = arr(b.items);
  if (rawItems.length === 0) throw invalid("Missing required param: items.", "items", "parameter_missing");
  const paymentBehavior =
    oneOf(b.payment_behavior, PAYMENT_BEHAVIORS, "payment_behavior") ?? "allow_incomplete";
  const defaultPm =
    (nullable(str(b.default_payment_method, "default_payment_method")) as string | undefined) ?? null;
  if (defaultPm) {
    const pm = state.get("payment_method", defaultPm);
    if (!pm || pm.customer !== customer.id) {
      throw invalid(
        `The customer does not have a payment method with the ID ${defaultPm}. The payment method must be attached to the customer.`,
        "default_payment_method",
        "resource_missing",
      );
    }
  }
  const prices = rawItems.map((raw, i) => {
    const price = resolveItemPrice(call, raw, i);
    if (!price)
      throw invalid(`Missing required param: items[${i}][price].`, `items[${i}][price]`, "parameter_missing");
    if (!price.recurring)
      throw invalid(
        "The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.",
        `items[${i}][price]`,
      );
    return {
      price,
      quantity: int(raw.quantity, `items[${i}][quantity]`) ?? 1,
      metadata: metadata(raw.metadata),
    };
  });
  const recurring = prices[0]!.price.recurring;
  for (const p of prices) {
    if (
      p.price.recurring.interval !== recurring.interval ||
      p.price.recurring.interval_count !== recurring.interval_count ||
      p.price.currency !== prices[0]!.price.currency
    ) {
      throw invalid(
        "Currency and interval fields must match across all plans on this subscription.",
        "items",
      );
    }
  }
  const now = nowFor(emu, customer.test_clock);
  // Trials: the first period runs to trial_end, is invoiced at 0, and the anchor moves to trial_end.
  const trialDays = int(b.trial_period_days, "trial_period_days");
  const trialEndParam = b.trial_end === "now" ? undefined : int(b.trial_end, "trial_end");
  const trialEnd = trialEndParam ?? (trialDays ? now + trialDays * 86400 : undefined);
  if (trialEnd !== undefined && trialEnd <= now) {
    throw invalid("Invalid timestamp: must be an integer Unix timestamp in the future.", "trial_end");
  }
  const total = trialEnd ? 0 : prices.reduce((sum, p) => sum + (p.price.unit_amount ?? 0) * p.quantity, 0);
  const draft: StripeObject = { default_payment_method: defaultPm };
  if (paymentBehavior === "error_if_incomplete") precheckPayment(emu, draft, customer, total);
  const end = trialEnd ?? nextBoundary(now, now, recurring.interval as Interval, recurring.interval_count);
  const sub: StripeObject = {
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
    cancel_at: null,
    cancel_at_period_end: bool(b.cancel_at_period_end, "cancel_at_period_end") ?? false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, reason: null },
    collection_method:
      oneOf(b.collection_method, ["charge_automatically", "send_invoice"], "collection_method") ??
      "charge_automatically",
    created: now,
    currency: prices[0]!.price.currency,
    customer: customer.id,
    customer_account: null,
    days_until_due: int(b.days_until_due, "days_until_due") ?? null,
    default_payment_method: defaultPm,
    default_source: null,
    default_tax_rates: [],
    description: str(b.description, "description") ?? null,
    discounts: [],
    ended_at: null,
    invoice_settings: { account_tax_ids: null, issuer: { type: "self" } },
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
    test_clock: customer.test_clock,
    transfer_data: null,
    trial_end: trialEnd ?? null,
    trial_settings: {
      end_behavior: {
        missing_payment_method: b.trial_settings?.end_behavior?.missing_payment_method ?? "create_invoice",
      },
    },
    trial_start: trialEnd ? now : null,
  };
  if (sub.cancel_at_period_end) sub.cancel_at = end;
  state.insert("subscription", sub);
  const items = prices.map((p) => newSubscriptionItem(emu, sub, p.price, p.quantity, now, end, p.metadata));
  const oneOff: LineInput[] = arr(b.add_invoice_items).map((raw, i) => {
    const price = raw.price
      ? getPrice(call, String(raw.price), `add_invoice_items[${i}][price]`)
      : raw.price_data
        ? createPrice(call, raw.price_data, {
            fromPriceData: true,
            param: `add_invoice_items[${i}][price_data]`,
          })
        : undefined;
    if (!price)
      throw invalid(
        `Missing required param: add_invoice_items[${i}][price].`,
        `add_invoice_items[${i}][price]`,
        "parameter_missing",
      );
    if (price.recurring)
      throw invalid(
        "add_invoice_items only accepts prices with type=one_time.",
        `add_invoice_items[${i}][price]`,
      );
    const quantity = int(raw.quantity, `add_invoice_items[${i}][quantity]`) ?? 1;
    return {
      amount: (price.unit_amount ?? 0) * quantity,
      description: `${quantity} × ${productName(emu, price)}`,
      price,
      quantity,
      periodStart: now,
      periodEnd: now,
      subscription: sub.id,
      subscriptionItem: null,
      proration: false,
    };
  });
  const invoice = buildInvoice(emu, {
    customer,
    subscription: sub,
    billingReason: "subscription_create",
    lines: [
      ...periodLines(emu, sub, items, now, end).map((line) =>
        trialEnd
          ? { ...line, amount: 0, description: `Trial period for ${productName(emu, line.price)}` }
          : line,
      ),
      ...oneOff,
    ],
    periodStart: now,
    periodEnd: now,
  });
  sub.latest_invoice = invoice.id;
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

function update(call: Call): StripeObject {
  const emu = call.emu;
  const { state } = emu;
  const sub = getSubscription(call, call.params.id!);
  const b = call.body;
  if (sub.status === "canceled" || sub.status === "incomplete_expired") {
    const allowed = Object.keys(b).every((k) => ["metadata", "cancellation_details", "expand"].includes(k));
    if (!allowed) {
      throw invalid(
        "A canceled subscription can only update its cancellation_details and metadata.",
        undefined,
        "resource_missing",
      );
    }
  }
  if ("trial_end" in b || "trial_from_plan" in b) {
    throw invalid(
      "Changing a trial on an existing subscription is not supported by the emulator.",
      "trial_end",
    );
  }
  const touchesCancel = "cancel_at_period_end" in b || "cancel_at" in b;
  if (touchesCancel && sub.schedule) {
    throw invalid(
      `The subscription is managed by the subscription schedule \`${sub.schedule}\`, and updating any cancelation behavior directly is not allowed. Please update the schedule instead.`,
    );
  }
  const customer = state.get("customer", sub.customer)!;
  const before = state.render(sub);
  const paymentBehavior =
    oneOf(b.payment_behavior, PAYMENT_BEHAVIORS, "payment_behavior") ?? "allow_incomplete";
  if ("default_payment_method" in b) {
    const pmId = nullable(str(b.default_payment_method, "default_payment_method")) as string | null;
    if (pmId) {
      const pm = state.get("payment_method", pmId);
      if (!pm || pm.customer !== sub.customer) {
        throw invalid(
          `The customer does not have a payment method with the ID ${pmId}. The payment method must be attached to the customer.`,
          "default_payment_method",
          "resource_missing",
        );
      }
    }
  }
  const plan =
    b.items !== undefined || b.billing_cycle_anchor !== undefined
      ? planItemsUpdate(call, sub, b.items, {
          prorationBehavior: b.proration_behavior,
          prorationDate: b.proration_date,
          billingCycleAnchor: b.billing_cycle_anchor,
        })
      : null;
  const invoiceNow = plan !== null && (plan.resetAnchor || plan.prorationBehavior === "always_invoice");
  if (plan && invoiceNow && paymentBehavior === "error_if_incomplete") {
    const amount = [...plan.prorationLines, ...plan.periodLines].reduce((s, l) => s + l.amount, 0);
    const probe = {
      default_payment_method:
        "default_payment_method" in b ? nullable(b.default_payment_method) : sub.default_payment_method,
    };
    precheckPayment(emu, probe, customer, amount);
  }
  // Simple fields.
  if ("metadata" in b) sub.metadata = mergeMetadata(sub.metadata, b.metadata);
  if ("description" in b) sub.description = nullable(str(b.description, "description"));
  if ("default_payment_method" in b)
    sub.default_payment_method = nullable(str(b.default_payment_method, "default_payment_method"));
  if ("cancellation_details" in b)
    sub.cancellation_details = { ...sub.cancellation_details, ...b.cancellation_details };
  if ("collection_method" in b) sub.collection_method = b.collection_method;
  const currentEnd = itemsOf(emu, sub.id)[0]!.current_period_end;
  if ("cancel_at_period_end" in b) {
    const flag = bool(b.cancel_at_period_end, "cancel_at_period_end") ?? false;
    sub.cancel_at_period_end = flag;
    sub.cancel_at = flag ? currentEnd : null;
    sub.canceled_at = flag ? nowFor(emu, sub.test_clock) : null;
  }
  if ("cancel_at" in b) {
    const at =
      b.cancel_at === ""
        ? null
        : b.cancel_at === "max_period_end" || b.cancel_at === "min_period_end"
          ? currentEnd
          : int(b.cancel_at, "cancel_at");
    sub.cancel_at = at ?? null;
    sub.cancel_at_period_end = at === currentEnd;
    sub.canceled_at = at ? nowFor(emu, sub.test_clock) : null;
  }
  let invoice: StripeObject | null = null;
  let pendingOnly = false;
  if (plan) {
    const stored: StoredItemUpdate = {
      changes: plan.changes.map((c) => ({
        itemId: c.item?.id ?? null,
        priceId: c.price.id,
        quantity: c.quantity,
        deleted: c.deleted,
        ...(c.metadata ? { metadata: c.metadata } : {}),
      })),
      resetAnchor: plan.resetAnchor,
      now: plan.now,
      periodStart: plan.periodStart,
      periodEnd: plan.periodEnd,
      newPeriodEnd: plan.newPeriodEnd,
    };
    const lines = [...plan.prorationLines, ...plan.periodLines];
    // pending_if_incomplete: when the charge would fail, Stripe keeps the items as they are and
    // records the change as `pending_update`, applied only once the invoice is paid.
    pendingOnly =
      invoiceNow &&
      paymentBehavior === "pending_if_incomplete" &&
      wouldFailToCollect(
        emu,
        sub,
        customer,
        lines.reduce((sum, l) => sum + l.amount, 0),
      );
    if (pendingOnly) {
      sub.pending_update = {
        billing_cycle_anchor: plan.resetAnchor ? plan.now : null,
        expires_at: plan.now + 23 * 3600,
        subscription_items: plan.changes
          .filter((c) => !c.deleted)
          .map((c) => ({
            ...(c.item ? state.render(c.item) : {}),
            object: "subscription_item",
            price: state.render(c.price),
            quantity: c.quantity,
          })),
        trial_end: null,
        trial_from_plan: null,
      };
      sub._pending_item_update = stored;
    } else {
      const createdItems = applyItemChanges(emu, sub, stored);
      for (const line of lines) {
        if (line.subscriptionItem === null) line.subscriptionItem = createdItems.get(line.price.id) ?? null;
      }
    }
    if (invoiceNow) {
      const pending = takePendingItems(emu, sub, null);
      invoice = buildInvoice(emu, {
        customer,
        subscription: sub,
        billingReason: "subscription_update",
        lines: [...pending, ...lines],
        periodStart: plan.now,
        periodEnd: plan.now,
      });
      for (const line of pending) {
        const ii = line.invoiceItem ? state.get("invoiceitem", line.invoiceItem) : undefined;
        if (ii) ii.invoice = invoice.id;
      }
      sub.latest_invoice = invoice.id;
    } else {
      for (const line of plan.prorationLines) newInvoiceItem(call, sub, line);
    }
  }
  emu.emit("customer.subscription.updated", sub, { request: call.request, previous: before });
  if (invoice) {
    emu.emit("invoice.created", invoice, { request: call.request });
    finalizeInvoice(emu, invoice, call.request);
    if (invoice.status === "open" && pendingOnly) {
      attemptInvoicePayment(emu, invoice, call.request);
    } else if (invoice.status === "open" && paymentBehavior !== "default_incomplete") {
      // Same collection as a renewal: a failure makes the subscription past_due and schedules Smart Retries.
      collectAutomatically(emu, invoice, nowFor(emu, sub.test_clock), call.request);
    }
  }
  return sub;
}

export const subscriptionRoutes: Route[] = [
  { method: "POST", path: "/v1/subscriptions", handler: createSubscription },
  { method: "GET", path: "/v1/subscriptions/:id", handler: (call) => getSubscription(call, call.params.id!) },
  { method: "POST", path: "/v1/subscriptions/:id", handler: update },
  {
    method: "DELETE",
    path: "/v1/subscriptions/:id",
    handler: (call) => {
      const sub = getSubscription(call, call.params.id!);
      if (sub.status === "canceled") {
        throw invalid(`No such subscription: '${sub.id}'`, "id", "resource_missing");
      }
      if (call.body.cancellation_details) {
        sub.cancellation_details = { ...sub.cancellation_details, ...call.body.cancellation_details };
      }
      const now = nowFor(call.emu, sub.test_clock);
      sub.canceled_at = now;
      cancelSubscriptionNow(call.emu, sub, now, call.request, "cancellation_requested");
      return sub;
    },
  },
  {
    method: "GET",
    path: "/v1/subscriptions",
    handler: (call) => {
      const b = call.body;
      const customer = str(b.customer, "customer");
      const status = str(b.status, "status");
      const price = str(b.price, "price");
      const clock = str(b.test_clock, "test_clock");
      const rows = call.emu.state.all("subscription").filter((s) => {
        if (customer && s.customer !== customer) return false;
        if (clock && s.test_clock !== clock) return false;
        if (status && status !== "all" && s.status !== status) return false;
        if (!status && (s.status === "canceled" || s.status === "incomplete_expired")) return false;
        if (price && !itemsOf(call.emu, s.id).some((i) => i.price.id === price)) return false;
        return true;
      });
      return paginate(rows, b, "/v1/subscriptions", (o) => call.emu.state.render(o));
    },
  },
  {
    method: "GET",
    path: "/v1/subscription_items",
    handler: (call) => {
      const subId = requireStr(call.body.subscription, "subscription");
      const rows = itemsOf(call.emu, subId).reverse();
      return paginate(rows, call.body, `/v1/subscription_items?subscription=${subId}`, (o) =>
        call.emu.state.render(o),
      );
    },
  },
  {
    method: "GET",
    path: "/v1/subscription_items/:id",
    handler: (call) => {
      const item = call.emu.state.get("subscription_item", call.params.id!);
      if (!item) throw noSuch("subscription_item", call.params.id!);
      return item;
    },
  },
];
