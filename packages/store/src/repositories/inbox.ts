import type { Prisma } from "../client.ts";
import type { Db, Store } from "../store.ts";

export type HandleOnceResult<T> = { duplicate: true } | { duplicate: false; result: T };

/**
 * Exactly-once effects over at-least-once delivery: the inbox row for (consumer, messageId) is
 * inserted in the same transaction as the effect. A redelivered message finds the row and the
 * effect is skipped; a crash before commit leaves neither, so the redelivery applies it.
 * Concurrent duplicates serialise on the primary key: the loser sees the winner's row.
 */
export async function handleOnce<T>(
  store: Store,
  consumer: string,
  messageId: string,
  effect: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<HandleOnceResult<T>> {
  return store.transaction(async (tx) => {
    const inserted = await tx.inboxMessage.createMany({
      data: [{ consumer, messageId }],
      skipDuplicates: true,
    });
    if (inserted.count === 0) return { duplicate: true } as const;
    return { duplicate: false, result: await effect(tx) } as const;
  });
}

export async function wasHandled(db: Db, consumer: string, messageId: string) {
  return (await db.inboxMessage.count({ where: { consumer, messageId } })) > 0;
}

/**
 * The inbox name of the sync (the sync-consumer group). A message id with a row under this name
 * has been applied to the Limio store: the Sync API's "is my request done?" is `isSyncHandled`.
 */
export const SYNC_INBOX = "sync-consumer";

/** Has the sync applied the message `messageId` (a sync request, an order outcome, a webhook)? */
export async function isSyncHandled(db: Db, messageId: string) {
  return wasHandled(db, SYNC_INBOX, messageId);
}

/**
 * Has the sync applied an outcome of order `orderId`? The writer ids every outcome of an order
 * `<orderId>:…:outcome` (deterministic, decision 009) and is the only producer of message ids that
 * start with a Limio order id, so an inbox row with that prefix is the store's proof that the
 * Limio subscription shows the order (the gateway's `limioSync`, decision 013).
 */
export async function isOrderOutcomeSynced(db: Db, orderId: string) {
  const handled = await db.inboxMessage.count({
    where: { consumer: SYNC_INBOX, messageId: { startsWith: `${orderId}:` } },
  });
  return handled > 0;
}
