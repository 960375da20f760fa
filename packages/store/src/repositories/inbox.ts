import type { Prisma } from "../client.ts";
import type { Db, Store } from "../store.ts";
import { sqlOf } from "../transaction-sql.ts";

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
    // Through pg: every message a consumer handles writes one (transaction-sql.ts says why).
    const inserted = await sqlOf(tx)(
      `INSERT INTO "InboxMessage" ("consumer", "messageId", "handledAt") VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING "messageId"`,
      [consumer, messageId, new Date()],
    );
    if (inserted.length === 0) return { duplicate: true } as const;
    return { duplicate: false, result: await effect(tx) } as const;
  });
}

/**
 * Inbox rows of messages whose only effect IS the row (a skipped or ignored event), collected
 * during a Kafka batch and written by `flush` as one statement before the batch's offset is
 * committed (docs/decisions/027). A crash before the flush leaves neither rows nor commit, so the
 * batch is redelivered and decided again. `flush` tells each message whether it was new or a
 * duplicate (its row already existed, or it came twice in the batch), as `handleOnce` would have.
 */
export type DeferredInbox = {
  /** Queue the row of `messageId` on a partition; `settled` runs at the flush that writes it. */
  add(partitionKey: string, messageId: string, settled: (duplicate: boolean) => void): void;
  /**
   * Is a row of `messageId` queued on the partition (not written yet)? A second copy of the message
   * in the same batch is then a duplicate, as it would be once the row is written.
   */
  isQueued(partitionKey: string, messageId: string): boolean;
  /** Writes the partition's queued rows (one INSERT … ON CONFLICT DO NOTHING) and settles them. */
  flush(partitionKey: string): Promise<void>;
};

export function deferredInbox(db: Db, consumer: string): DeferredInbox {
  type Queue = { rows: { messageId: string; settled: (duplicate: boolean) => void }[]; ids: Set<string> };
  const queued = new Map<string, Queue>();
  return {
    add(partitionKey, messageId, settled) {
      const queue = queued.get(partitionKey) ?? { rows: [], ids: new Set<string>() };
      queued.set(partitionKey, queue);
      queue.rows.push({ messageId, settled });
      queue.ids.add(messageId);
    },
    isQueued: (partitionKey, messageId) => queued.get(partitionKey)?.ids.has(messageId) ?? false,
    async flush(partitionKey) {
      const queue = queued.get(partitionKey);
      if (!queue || queue.rows.length === 0) return;
      // Taken off first: if the write fails, the batch is redelivered and queues its rows again.
      queued.delete(partitionKey);
      const { rows } = queue;
      const ids = [...queue.ids];
      const created = await sqlOf(db)<{ messageId: string }>(
        `INSERT INTO "InboxMessage" ("consumer", "messageId", "handledAt")
         SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING RETURNING "messageId"`,
        [consumer, ids, new Date()],
      );
      const fresh = new Set(created.map((c) => c.messageId));
      for (const row of rows) {
        // The first queued copy of a new row is the one that handled it; any other is a duplicate.
        row.settled(!fresh.delete(row.messageId));
      }
    },
  };
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
 * The ids of every outcome message the writer may publish for order `orderId` (deterministic,
 * decision 009): the order's own (`<orderId>:outcome`), and a waiting order's completion by the
 * customer's payment or by its SetupIntent (decision 018). The writer names its outcomes with it.
 */
export function orderOutcomeMessageIds(orderId: string) {
  return {
    submitted: `${orderId}:outcome`,
    payment: `${orderId}:payment:outcome`,
    setupSucceeded: `${orderId}:setup-succeeded:outcome`,
  };
}

/**
 * Has the sync applied an outcome of order `orderId`? An inbox row of one of its outcome messages
 * is the store's proof that the Limio subscription shows the order (the gateway's `limioSync`,
 * decision 013). Exact ids, not a prefix: the gateway polls this every few ms per waiting order,
 * and the primary key serves `= ANY` under any collation (a LIKE prefix only under "C").
 */
export async function isOrderOutcomeSynced(db: Db, orderId: string) {
  const handled = await sqlOf(db)(
    `SELECT 1 FROM "InboxMessage" WHERE "consumer" = $1 AND "messageId" = ANY($2::text[]) LIMIT 1`,
    [SYNC_INBOX, Object.values(orderOutcomeMessageIds(orderId))],
  );
  return handled.length > 0;
}
