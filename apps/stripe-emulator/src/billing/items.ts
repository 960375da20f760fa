import type { Emulator } from "../context.ts";
import type { Stored } from "../state.ts";
import type { ItemPlan, ItemPrice, StoredItemUpdate } from "../types.ts";

/** The legacy `plan` view of a recurring price that Stripe still embeds in subscription items. */
function planFromPrice(price: ItemPrice): ItemPlan {
  return {
    id: price.id,
    object: "plan",
    active: price.active,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: price.billing_scheme,
    created: price.created,
    currency: price.currency,
    interval: price.recurring.interval,
    interval_count: price.recurring.interval_count,
    livemode: false,
    metadata: price.metadata,
    meter: null,
    nickname: price.nickname,
    product: price.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: price.recurring.usage_type ?? "licensed",
  };
}

/** The price as an item embeds it: a copy, without the store's internal fields (the caller checked it is recurring). */
export function itemPriceOf(price: Stored<"price">): ItemPrice {
  const { _seq: _internal, recurring, ...copy } = structuredClone(price);
  if (!recurring) throw new Error(`price ${price.id} is not recurring`);
  return { ...copy, recurring };
}

export function newSubscriptionItem(
  emu: Emulator,
  sub: Stored<"subscription">,
  price: Stored<"price">,
  quantity: number,
  periodStart: number,
  periodEnd: number,
  metadata: Record<string, string> = {},
): Stored<"subscription_item"> {
  const itemPrice = itemPriceOf(price);
  const item: Stored<"subscription_item"> = {
    id: emu.state.newId("si", 14),
    object: "subscription_item",
    billing_thresholds: null,
    created: periodStart,
    current_period_end: periodEnd,
    current_period_start: periodStart,
    discounts: [],
    metadata,
    plan: planFromPrice(itemPrice),
    price: itemPrice,
    quantity,
    subscription: sub.id,
    tax_rates: [],
  };
  emu.state.insert("subscription_item", item);
  return item;
}

export function setItemPrice(item: Stored<"subscription_item">, price: Stored<"price">): void {
  item.price = itemPriceOf(price);
  item.plan = planFromPrice(item.price);
}

export function itemsOf(emu: Emulator, subId: string): Stored<"subscription_item">[] {
  return [...emu.state.collection("subscription_item").values()]
    .filter((i) => i.subscription === subId)
    .sort((a, b) => (a._seq ?? 0) - (b._seq ?? 0));
}

/** Apply item changes to a subscription; returns the ids of items it created, by price id. */
export function applyItemChanges(
  emu: Emulator,
  sub: Stored<"subscription">,
  update: StoredItemUpdate,
): Map<string, string> {
  const created = new Map<string, string>();
  for (const c of update.changes) {
    const item = c.itemId ? emu.state.get("subscription_item", c.itemId) : undefined;
    const price = emu.state.get("price", c.priceId)!;
    if (item && c.deleted) {
      emu.state.remove("subscription_item", item.id);
      continue;
    }
    if (item) {
      if (item.price.id !== price.id) setItemPrice(item, price);
      item.quantity = c.quantity;
      if (c.metadata) item.metadata = c.metadata;
      if (update.resetAnchor) {
        item.current_period_start = update.now;
        item.current_period_end = update.newPeriodEnd;
      }
    } else if (!c.deleted) {
      const fresh = newSubscriptionItem(
        emu,
        sub,
        price,
        c.quantity,
        update.resetAnchor ? update.now : update.periodStart,
        update.resetAnchor ? update.newPeriodEnd : update.periodEnd,
        c.metadata,
      );
      created.set(price.id, fresh.id);
    }
  }
  if (update.resetAnchor) sub.billing_cycle_anchor = update.now;
  return created;
}
