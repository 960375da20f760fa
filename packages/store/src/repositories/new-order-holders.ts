import type { Db } from "../store.ts";

/** Who else already holds what a `new` order would create: each null when nobody does. */
export type NewOrderHolders = {
  /** The Limio subscription with the order's subscription id. */
  subscriptionWithId: string | null;
  /** Another order recorded for that subscription id. */
  orderWithSubscriptionId: string | null;
  /** The Limio subscription with the order's `sub_reference`. */
  subscriptionWithReference: string | null;
  /** Another `new` order recorded with that `sub_reference` (its subscription may not exist yet). */
  orderWithSubReference: string | null;
};

/**
 * What holds a `new` order's subscription id and `sub_reference`, other than the order itself:
 * the store keeps both unique per subscription, but a subscription row exists only once the sync
 * applied its order's outcome, so recorded orders count too. One statement; each lookup is served
 * by an index (the Order payload's `sub_reference` by `Order_new_sub_reference_idx`). A failed
 * order holds nothing: it created no Limio subscription, so a checkout retried under a new order
 * id with the same ids goes through.
 */
export async function findNewOrderHolders(
  db: Db,
  order: { orderId: string; subscriptionId: string; subReference: string | null },
): Promise<NewOrderHolders> {
  const { orderId, subscriptionId, subReference } = order;
  const [row] = await db.$queryRaw<NewOrderHolders[]>`
    SELECT
      (SELECT s.id FROM "Subscription" s WHERE s.id = ${subscriptionId}) AS "subscriptionWithId",
      (SELECT o.id FROM "Order" o
        WHERE o."subscriptionId" = ${subscriptionId} AND o.id <> ${orderId} AND o.status <> 'failed'
        ORDER BY o."createdAt" LIMIT 1) AS "orderWithSubscriptionId",
      (SELECT s.id FROM "Subscription" s WHERE s.reference = ${subReference}) AS "subscriptionWithReference",
      (SELECT o.id FROM "Order" o
        WHERE o.type = 'new' AND o.payload->>'sub_reference' = ${subReference} AND o.id <> ${orderId}
          AND o.status <> 'failed'
        ORDER BY o."createdAt" LIMIT 1) AS "orderWithSubReference"`;
  return (
    row ?? {
      subscriptionWithId: null,
      orderWithSubscriptionId: null,
      subscriptionWithReference: null,
      orderWithSubReference: null,
    }
  );
}
