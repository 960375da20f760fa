import type { Db } from "../store.ts";
import { wasHandled } from "./inbox.ts";

/**
 * The consumer name under which the sync-consumer records, in its inbox, every message it
 * applied (`InboxMessage.consumer`). The sync-consumer and the Sync API's wait both use this one
 * constant: the inbox row is the store's proof that a sync request was applied.
 */
export const SYNC_CONSUMER_INBOX = "sync-consumer";

/**
 * Whether the sync-consumer applied the sync request published with this message id: it writes
 * the inbox row in the transaction that applies the sync, so true means the Limio subscription
 * already shows Stripe's state as of that sync.
 */
export function isSyncRequestApplied(db: Db, messageId: string): Promise<boolean> {
  return wasHandled(db, SYNC_CONSUMER_INBOX, messageId);
}

/**
 * The message id of the sync request the stripe-writer publishes after it finished an order
 * (`<orderId>:sync`): once applied, the Limio subscription shows what the order did in Stripe.
 */
export const orderSyncMessageId = (orderId: string) => `${orderId}:sync`;
