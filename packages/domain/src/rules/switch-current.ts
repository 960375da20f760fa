import type { StripeMetadata } from "../stripe/types.ts";
import type { StripeInterval } from "./price-params.ts";
import type { CurrentItem } from "./switch-plan.ts";

/**
 * What planSwitch needs from the Stripe subscription being switched, read the same way by the
 * writer (to apply a switch) and the gateway (to preview it): its items, its offer, its period end.
 */
type SwitchedSubscription = {
  metadata?: StripeMetadata;
  items: {
    data: readonly {
      id: string;
      quantity?: number | null;
      current_period_end: number;
      price: {
        id: string;
        unit_amount?: number | null;
        metadata?: StripeMetadata;
        recurring?: { interval: string; interval_count: number } | null;
      };
    }[];
  };
};

/** The offer the subscription is on: the store's, else the Limio offer id stamped on its Stripe price. */
export function currentOfferId(storeOfferId: string | null, sub: SwitchedSubscription): string | undefined {
  if (storeOfferId) return storeOfferId;
  for (const item of sub.items.data) {
    const id = item.price.metadata?.limio_offer_id;
    if (id) return id;
  }
  return sub.metadata?.limio_offer_id;
}

export function currentItems(sub: SwitchedSubscription): CurrentItem[] {
  return sub.items.data.map((item) => ({
    itemId: item.id,
    priceId: item.price.id,
    offerId: item.price.metadata?.limio_offer_id || undefined,
    quantity: item.quantity ?? 1,
    unitAmount: item.price.unit_amount ?? null,
    recurring: {
      interval: (item.price.recurring?.interval ?? "month") as StripeInterval,
      interval_count: item.price.recurring?.interval_count ?? 1,
    },
  }));
}

/** The end of the current billing period: the latest item's (periods live on items since 2025-03-31). */
export function currentPeriodEnd(sub: SwitchedSubscription): number {
  return Math.max(...sub.items.data.map((item) => item.current_period_end));
}
