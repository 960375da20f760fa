import type Stripe from "stripe";
import { couponsToRedeem, redeem } from "../billing/discounts.ts";
import { attemptInvoicePayment, finalizeInvoice, type LineInput } from "../billing/invoices.ts";
import { applyItemChanges, itemsOf } from "../billing/items.ts";
import { collectAutomatically, invoiceSubscription } from "../billing/renewal.ts";
import { type Call, paramsOf } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { invalid } from "../http/errors.ts";
import { arr, atMost, bool, int, mergeMetadata, nullableStr, oneOf } from "../http/params.ts";
import type { Stored } from "../state.ts";
import { type Form, idOf } from "../types.ts";
import { precheckPayment, requireAttachedMethod, wouldFailToCollect } from "./subscription-collection.ts";
import {
  getSubscription,
  MAX_ITEMS,
  mergeCancellationDetails,
  PAYMENT_BEHAVIORS,
  planItemsUpdate,
  storableUpdate,
} from "./subscription-plan.ts";

type Subscription = Stored<"subscription">;
type UpdateParams = Form<Stripe.SubscriptionUpdateParams>;

/** Proration lines kept as pending invoice items (`create_prorations`), billed at the next invoice. */
function newInvoiceItem(call: Call, sub: Subscription, line: LineInput): Stored<"invoiceitem"> {
  const { state } = call.emu;
  const ii: Stored<"invoiceitem"> = {
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

/**
 * Stripe's pending updates reference (docs.stripe.com/billing/subscriptions/pending-updates-reference,
 * "Supported attributes"): only these can create a pending update; items only by price and quantity.
 */
const PENDING_UPDATE_PARAMS = [
  "expand",
  "payment_behavior",
  "proration_behavior",
  "proration_date",
  "billing_cycle_anchor",
  "items",
  "trial_end",
  "trial_from_plan",
  "add_invoice_items",
];
const PENDING_UPDATE_ITEM_PARAMS = ["id", "price", "quantity"];

function checkPendingUpdateParams(body: UpdateParams): void {
  const other = Object.keys(body).find((k) => !PENDING_UPDATE_PARAMS.includes(k));
  const otherItem = arr(body.items)
    .flatMap((item, i) => Object.keys(item ?? {}).map((key) => ({ key, path: `items[${i}][${key}]` })))
    .find(({ key }) => !PENDING_UPDATE_ITEM_PARAMS.includes(key))?.path;
  const param = other ?? otherItem;
  if (param) {
    throw invalid(
      `\`${param}\` cannot be used with \`payment_behavior=pending_if_incomplete\`: a pending update supports only ${PENDING_UPDATE_PARAMS.join(", ")} (items by price and quantity).`,
      param,
    );
  }
}

/** `POST /v1/subscriptions/:id`: simple fields, cancellation, item changes per payment_behavior. */
export function updateSubscription(call: Call): Subscription {
  const emu = call.emu;
  const { state } = emu;
  const sub = getSubscription(call, call.params.id!);
  const b = paramsOf<Stripe.SubscriptionUpdateParams>(call);
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
  refuseUpdateOfIncomplete(sub, b);
  if (b.add_invoice_items !== undefined) {
    // OpenAPI POST /v1/subscriptions/{subscription_exposed_id} `add_invoice_items`: "You may pass
    // up to 20 items". Within that, refused rather than ignored: the emulator bills no one-off
    // items on an update.
    atMost(arr(b.add_invoice_items), MAX_ITEMS, "add_invoice_items");
    throw invalid("The emulator does not model `add_invoice_items` on an update.", "add_invoice_items");
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
  refuseProratedCancelAt(call, b, sub);
  const customer = state.get("customer", sub.customer)!;
  const before = state.render(sub);
  const paymentBehavior =
    oneOf(b.payment_behavior, PAYMENT_BEHAVIORS, "payment_behavior") ?? "allow_incomplete";
  if (paymentBehavior === "pending_if_incomplete") checkPendingUpdateParams(b);
  if ("default_payment_method" in b) {
    const pmId = nullableStr(b.default_payment_method, "default_payment_method");
    if (pmId) requireAttachedMethod(emu, pmId, sub.customer);
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
        "default_payment_method" in b
          ? (nullableStr(b.default_payment_method, "default_payment_method") ?? null)
          : sub.default_payment_method,
    };
    precheckPayment(emu, probe, customer, amount);
  }
  if ("discounts" in b) {
    if (plan) {
      // Which discounts the prorations of the same call would use is not documented.
      throw invalid(
        "The emulator does not model changing `discounts` and items in one update; make two calls.",
        "discounts",
      );
    }
    replaceDiscounts(call, b, sub, customer);
  }
  // Simple fields.
  if ("metadata" in b) sub.metadata = mergeMetadata(sub.metadata, b.metadata);
  if ("description" in b) sub.description = nullableStr(b.description, "description") ?? null;
  if ("default_payment_method" in b)
    sub.default_payment_method = nullableStr(b.default_payment_method, "default_payment_method") ?? null;
  if ("cancellation_details" in b)
    sub.cancellation_details = mergeCancellationDetails(
      sub.cancellation_details,
      b.cancellation_details ?? {},
    );
  if ("collection_method" in b) sub.collection_method = b.collection_method ?? sub.collection_method;
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
  let invoice: Stored<"invoice"> | null = null;
  let pendingOnly = false;
  if (plan) {
    const stored = storableUpdate(plan);
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
        expires_at: pendingUpdateExpiry(sub, plan.now, currentEnd),
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
      invoice = invoiceSubscription(
        emu,
        sub,
        {
          customer,
          billingReason: "subscription_update",
          lines,
          periodStart: plan.now,
          periodEnd: plan.now,
        },
        call.request,
      );
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

/**
 * OpenAPI components.schemas.subscription.properties.status: "A subscription in this status
 * [incomplete] can only have metadata and default_source updated" (it leaves `incomplete` when its
 * first invoice is paid, or ends as `incomplete_expired`). Stripe does not publish the message or a
 * code for the refusal: a 400 invalid_request_error naming the first parameter it refuses.
 */
const INCOMPLETE_UPDATABLE = ["metadata", "default_source", "expand"];
function refuseUpdateOfIncomplete(sub: Subscription, b: UpdateParams): void {
  if (sub.status !== "incomplete") return;
  const refused = Object.keys(b).find((k) => !INCOMPLETE_UPDATABLE.includes(k));
  if (refused) {
    throw invalid(
      `Subscription \`${sub.id}\` is \`incomplete\`: until its first invoice is paid it can only have \`metadata\` and \`default_source\` updated, not \`${refused}\`.`,
      refused,
    );
  }
}

/**
 * docs.stripe.com/billing/subscriptions/pending-updates-reference#expiration: a pending update
 * expires at the trial end or the end of the current period, whichever comes first, and at
 * most 23 hours after it was made.
 */
function pendingUpdateExpiry(sub: Subscription, now: number, currentPeriodEnd: number): number {
  const trialEnd = sub.status === "trialing" && sub.trial_end ? sub.trial_end : Number.POSITIVE_INFINITY;
  return Math.min(now + 23 * 3600, currentPeriodEnd, trialEnd);
}

/**
 * `discounts` on update (docs.stripe.com/api/subscriptions/update#update_subscription-discounts):
 * a populated array replaces the subscription's discounts, `""` clears them, `[]` leaves them.
 */
function replaceDiscounts(
  call: Call,
  b: UpdateParams,
  sub: Subscription,
  customer: Stored<"customer">,
): void {
  const emu = call.emu;
  if (Array.isArray(b.discounts) && b.discounts.length === 0) return;
  const now = nowFor(emu, sub.test_clock);
  const target = { customer: customer.id, subscription: sub.id, currency: sub.currency, start: now };
  const coupons = couponsToRedeem(call, b.discounts, { ...target, param: "discounts" });
  for (const ref of sub.discounts) {
    const old = emu.state.get("discount", idOf(ref));
    if (old) emu.emit("customer.discount.deleted", old, { request: call.request });
  }
  sub.discounts = redeem(emu, coupons, target, call.request);
}

/**
 * A `cancel_at` before the current period ends "will cause a proration if prorations have been
 * enabled using proration_behavior" (docs.stripe.com/api/subscriptions/update#update_subscription-cancel_at):
 * a credit for the unused time, billed on an invoice the docs do not describe. The emulator does
 * not model that credit, so it refuses such a cancel_at unless proration_behavior is none.
 */
function refuseProratedCancelAt(call: Call, b: UpdateParams, sub: Subscription): void {
  if (b.cancel_at === undefined || b.cancel_at === "" || typeof b.cancel_at !== "string") return;
  if (!/^\d+$/.test(b.cancel_at)) return;
  const at = Number(b.cancel_at);
  const currentEnd = itemsOf(call.emu, sub.id)[0]!.current_period_end;
  const behavior = oneOf(
    b.proration_behavior,
    ["always_invoice", "create_prorations", "none"],
    "proration_behavior",
  );
  if (at < currentEnd && behavior !== "none") {
    throw invalid(
      "The emulator does not model the proration of a cancel_at inside the current period; pass proration_behavior=none.",
      "cancel_at",
    );
  }
}
