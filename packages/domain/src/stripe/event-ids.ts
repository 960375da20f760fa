import { refId, type StripeEventLike, type StripeEventObjectLike } from "./types.ts";

/**
 * Which Limio-relevant Stripe objects an event is about. Used to key `stripe.events.v1` (so all
 * events of one subscription are consumed in order) and to find the Limio subscription to sync.
 */
export type RelatedStripeIds = {
  objectId?: string;
  objectType: string;
  subscriptionId?: string;
  customerId?: string;
  invoiceId?: string;
  scheduleId?: string;
  paymentMethodId?: string;
  paymentIntentId?: string;
  setupIntentId?: string;
};

const get = (o: StripeEventObjectLike, path: string[]): unknown =>
  path.reduce<unknown>(
    (v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined),
    o,
  );

function compact(ids: RelatedStripeIds): RelatedStripeIds {
  return Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined)) as RelatedStripeIds;
}

export function relatedStripeIds(object: StripeEventObjectLike): RelatedStripeIds {
  const id = refId(object.id);
  const customerId = refId(object.customer);
  const base = { objectId: id, objectType: object.object, customerId };
  switch (object.object) {
    case "subscription":
      return compact({
        ...base,
        subscriptionId: id,
        scheduleId: refId(object.schedule),
        invoiceId: refId(object.latest_invoice),
        paymentMethodId: refId(object.default_payment_method),
      });
    case "invoice":
      return compact({
        ...base,
        invoiceId: id,
        // API ≥ 2025-03-31 moved it under parent; `subscription` kept for older payloads.
        subscriptionId:
          refId(get(object, ["parent", "subscription_details", "subscription"])) ??
          refId(object.subscription),
      });
    case "subscription_schedule":
      return compact({
        ...base,
        scheduleId: id,
        subscriptionId: refId(object.subscription) ?? refId(object.released_subscription),
      });
    case "payment_method":
      return compact({ ...base, paymentMethodId: id });
    case "customer":
      return compact({ ...base, customerId: id });
    case "setup_intent":
      return compact({ ...base, setupIntentId: id, paymentMethodId: refId(object.payment_method) });
    case "payment_intent":
      return compact({ ...base, paymentIntentId: id, paymentMethodId: refId(object.payment_method) });
    case "invoice_payment":
      return compact({
        ...base,
        invoiceId: refId(object.invoice),
        paymentIntentId: refId(get(object, ["payment", "payment_intent"])),
      });
    case "subscription_item":
      return compact({ ...base, subscriptionId: refId(object.subscription) });
    default:
      return compact(base);
  }
}

/**
 * Kafka key for stripe.events.v1: the customer id, else the subscription id, else the event id.
 * The customer first (decision 030): one renewal's events name its subscription (the subscription,
 * its invoices) or only its customer (payment intents, charges); keyed by customer they share one
 * partition, so one consumer syncs the renewal once instead of two replicas syncing it each. A
 * subscription's customer never changes (Stripe's subscription update takes no `customer`), so
 * every event of one subscription still shares one key, and its order.
 */
export function stripeEventKey(event: Pick<StripeEventLike, "id" | "data">): string {
  const ids = relatedStripeIds(event.data.object);
  return ids.customerId ?? ids.subscriptionId ?? event.id;
}

/**
 * Stripe event families the bridge acts on (the sync-consumer, and the writer for
 * `setup_intent.succeeded`). The gateway acknowledges other events, counts them and drops them.
 */
export const handledStripeEventPrefixes: readonly string[] = [
  "customer.",
  "invoice.",
  "invoice_payment.",
  "payment_method.",
  "payment_intent.",
  "setup_intent.",
  "subscription_schedule.",
  "charge.",
];

export const isHandledStripeEventType = (type: string): boolean =>
  handledStripeEventPrefixes.some((prefix) => type.startsWith(prefix));
