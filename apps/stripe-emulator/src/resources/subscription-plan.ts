import type Stripe from "stripe";
import { refuseDiscountedProration } from "../billing/discounts.ts";
import { formatMoney, type LineInput } from "../billing/invoices.ts";
import { itemPriceOf, itemsOf } from "../billing/items.ts";
import { prorationAmounts } from "../billing/proration.ts";
import { formatDate, type Interval, nextBoundary } from "../billing/time.ts";
import type { Call, Emulator } from "../context.ts";
import { nowFor } from "../events/events.ts";
import { invalid, noSuch } from "../http/errors.ts";
import { arr, atMost, bool, int, mergeMetadata, metadata, oneOf } from "../http/params.ts";
import type { Stored } from "../state.ts";
import { type Form, type ItemPrice, isJsonObject, type StoredItemUpdate } from "../types.ts";
import { createPrice, getPrice, recurringOf } from "./prices.ts";

/** Stripe's limit on a subscription's `items` and `add_invoice_items` (OpenAPI, cited where checked). */
export const MAX_ITEMS = 20;

/** Finding a subscription and planning an item change with its prorations (also used by create_preview). */
export const PAYMENT_BEHAVIORS = [
  "allow_incomplete",
  "default_incomplete",
  "error_if_incomplete",
  "pending_if_incomplete",
] as const;
const PRORATION_BEHAVIORS = ["always_invoice", "create_prorations", "none"] as const;
type ProrationBehavior = (typeof PRORATION_BEHAVIORS)[number];

export function getSubscription(call: Call, id: string, param = "id"): Stored<"subscription"> {
  const sub = call.emu.state.get("subscription", id);
  if (!sub) throw noSuch("subscription", id, param);
  return sub;
}

/** An item parameter as create, update and the invoice preview send it (the fields read here). */
export type ItemParams = {
  id?: string;
  deleted?: string;
  price?: string;
  price_data?: Form<Stripe.SubscriptionCreateParams.Item.PriceData>;
  quantity?: string;
  metadata?: unknown;
};

function resolveItemPrice(
  call: Call,
  raw: ItemParams,
  i: number,
  list = "items",
): Stored<"price"> | undefined {
  if (raw.price) return getPrice(call, String(raw.price), `${list}[${i}][price]`);
  if (raw.price_data)
    return createPrice(call, raw.price_data, { fromPriceData: true, param: `${list}[${i}][price_data]` });
  return undefined;
}

/** A new subscription's items: each one's recurring price, quantity and metadata. */
export type NewSubscriptionItems = {
  items: {
    price: Stored<"price">;
    recurring: Stripe.Price.Recurring;
    quantity: number;
    metadata: Record<string, string>;
  }[];
  /** The one `recurring` (interval, interval_count) and currency all items share. */
  recurring: Stripe.Price.Recurring;
  currency: string;
};

/**
 * The items of a new subscription, checked as Stripe checks them on create and in the preview of
 * one (`list` is `items` or `subscription_details[items]`): at least one item
 * (docs.stripe.com/api/subscriptions/create#create_subscription-items, required), each with a
 * recurring price, and one currency and billing interval for all of them: one invoice per billing
 * period combines every price (docs.stripe.com/billing/subscriptions/multiple-products); the
 * refusal's text is Stripe's.
 */
export function newSubscriptionItems(
  call: Call,
  raw: readonly ItemParams[] | "" | undefined,
  list: string,
): NewSubscriptionItems {
  // OpenAPI POST /v1/subscriptions `items` and POST /v1/invoices/create_preview
  // `subscription_details[items]` (spec3.beta.sdk.json): "A list of up to 20 subscription items".
  const rawItems = atMost(arr(raw), MAX_ITEMS, list);
  if (rawItems.length === 0) throw invalid(`Missing required param: ${list}.`, list, "parameter_missing");
  const items = rawItems.map((item, i) => {
    const price = resolveItemPrice(call, item, i, list);
    const param = `${list}[${i}][price]`;
    if (!price) throw invalid(`Missing required param: ${param}.`, param, "parameter_missing");
    return {
      recurring: recurringOf(price, param),
      price,
      quantity: int(item.quantity, `${list}[${i}][quantity]`) ?? 1,
      metadata: metadata(item.metadata),
    };
  });
  const first = items[0]!;
  const mixed = items.some(
    ({ price, recurring }) =>
      recurring.interval !== first.recurring.interval ||
      recurring.interval_count !== first.recurring.interval_count ||
      price.currency !== first.price.currency,
  );
  if (mixed)
    throw invalid("Currency and interval fields must match across all plans on this subscription.", list);
  return { items, recurring: first.recurring, currency: first.price.currency };
}

export function productName(emu: Emulator, price: Stored<"price">): string {
  return emu.state.get("product", price.product)?.name ?? price.nickname ?? price.id;
}

type ItemChange<P = ItemPrice> = {
  item: Stored<"subscription_item"> | null;
  price: P;
  quantity: number;
  deleted: boolean;
  metadata?: Record<string, string>;
};

/** An item update as planned: the stored update's periods with the objects it changes, and its invoice lines. */
export type UpdatePlan = Omit<StoredItemUpdate, "changes"> & {
  changes: ItemChange[];
  prorationLines: LineInput[];
  periodLines: LineInput[];
  prorationDate: number;
  prorationBehavior: ProrationBehavior;
};

/**
 * `cancellation_details` on update or cancel: the fields given replace the stored ones
 * (docs.stripe.com/api/subscriptions/update#update_subscription-cancellation_details).
 */
export function mergeCancellationDetails(
  existing: Stripe.Subscription.CancellationDetails | null,
  given: Form<Stripe.SubscriptionUpdateParams.CancellationDetails>,
): Stripe.Subscription.CancellationDetails {
  return {
    comment: given.comment ?? existing?.comment ?? null,
    feedback: given.feedback ?? existing?.feedback ?? null,
    feedback_option: given.feedback_option ?? existing?.feedback_option ?? null,
    reason: existing?.reason ?? null,
  };
}

/** A plan's item changes in storable form (ids only), to apply now or keep as a pending update. */
export function storableUpdate(plan: UpdatePlan): StoredItemUpdate {
  const { resetAnchor, now, periodStart, periodEnd, newPeriodEnd } = plan;
  const changes = plan.changes.map((c) => ({
    itemId: c.item?.id ?? null,
    priceId: c.price.id,
    quantity: c.quantity,
    deleted: c.deleted,
    ...(c.metadata ? { metadata: c.metadata } : {}),
  }));
  return { changes, resetAnchor, now, periodStart, periodEnd, newPeriodEnd };
}

/** Work out an item change and its prorations without touching state (also used by create_preview). */
export function planItemsUpdate(
  call: Call,
  sub: Stored<"subscription">,
  itemsParam: readonly ItemParams[] | undefined,
  options: { prorationBehavior?: unknown; prorationDate?: unknown; billingCycleAnchor?: unknown },
): UpdatePlan {
  const emu = call.emu;
  const now = nowFor(emu, sub.test_clock);
  const existing = itemsOf(emu, sub.id);
  // Prices as given, checked to be recurring below.
  const given: ItemChange<Stored<"price">>[] = existing.map((item) => ({
    item,
    price: item.price,
    quantity: item.quantity ?? 1,
    deleted: false,
  }));
  // OpenAPI POST /v1/subscriptions/{subscription_exposed_id} `items`: "A list of up to 20 subscription items".
  atMost(arr(itemsParam), MAX_ITEMS, "items").forEach((raw, i) => {
    if (raw.id) {
      const change = given.find((c) => c.item?.id === raw.id);
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
      given.push({
        item: null,
        price,
        quantity: int(raw.quantity, `items[${i}][quantity]`) ?? 1,
        deleted: false,
        metadata: metadata(raw.metadata),
      });
    }
  });
  const remaining = given.filter((c) => !c.deleted);
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
  // Every price is recurring now: the remaining ones were just checked, deleted ones are items'.
  const changes: ItemChange[] = given.map((c) => ({ ...c, price: itemPriceOf(c.price) }));
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
  const anchor = isJsonObject(anchorType) ? anchorType.type : "unchanged";
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
      const changed = !oldPrice || c.deleted || oldPrice.id !== c.price.id || oldQty !== c.quantity;
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
      if (c.item && oldPrice && amounts.credit !== 0) {
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
  if (prorationLines.length > 0) refuseDiscountedProration(emu, sub, now, periodStart);
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
