import { randomUUID } from "node:crypto";
import type { Prisma } from "../client.ts";
import { jsonb } from "../sql-columns.ts";
import type { Db, Store } from "../store.ts";
import { sqlOf } from "../transaction-sql.ts";

/**
 * The outbox of subscription change events (docs/decisions/017). A row is written in the same
 * transaction as the change and its audit Event; the relay publishes rows in insertion order and
 * marks them published.
 */
export type SubscriptionChangeRow = {
  id: string;
  subscriptionId: string;
  sequence: number;
  envelope: unknown;
};

/**
 * The next sequence number of a subscription's change events. The upsert locks the counter row
 * until the transaction ends, so a concurrent writer of the same subscription waits and takes the
 * next number only after this one committed (or rolled back): numbers are consecutive, in commit
 * order, and a row with number n+1 is never visible before the row with n.
 */
async function nextSequence(tx: Prisma.TransactionClient, subscriptionId: string): Promise<number> {
  const [row] = await sqlOf(tx)<{ lastSequence: number }>(
    `INSERT INTO "SubscriptionChangeSequence" ("subscriptionId", "lastSequence") VALUES ($1, 1)
     ON CONFLICT ("subscriptionId")
     DO UPDATE SET "lastSequence" = "SubscriptionChangeSequence"."lastSequence" + 1
     RETURNING "lastSequence"`,
    [subscriptionId],
  );
  if (!row) throw new Error(`no change sequence for ${subscriptionId}`);
  return row.lastSequence;
}

/** A fresh envelope id for an outbox row (kept for every re-publish of that row). */
export const newChangeEventId = () => randomUUID();

/**
 * Append one change event inside the caller's transaction; `envelopeFor` gets its id and sequence.
 * Through pg: every sync change writes one (transaction-sql.ts says why).
 */
export async function appendSubscriptionChange(
  tx: Prisma.TransactionClient,
  input: {
    subscriptionId: string;
    eventId: string;
    envelopeFor: (id: string, sequence: number) => unknown;
  },
): Promise<SubscriptionChangeRow> {
  const sequence = await nextSequence(tx, input.subscriptionId);
  const id = newChangeEventId();
  const envelope = input.envelopeFor(id, sequence);
  await sqlOf(tx)(
    `INSERT INTO "SubscriptionChange" ("id", "subscriptionId", "sequence", "eventId", "envelope", "createdAt")
     VALUES ($1, $2, $3, $4, $5::jsonb, $6)`,
    [id, input.subscriptionId, sequence, input.eventId, jsonb(envelope), new Date()],
  );
  return { id, subscriptionId: input.subscriptionId, sequence, envelope };
}

/** Advisory lock key of the one relay allowed to publish at a time (017: a leader per batch). */
const RELAY_LOCK = "limio.subscription-changes.relay";

export type RelayBatchResult = { leader: boolean; published: number };

/**
 * One relay round. Nothing unpublished, or another replica holding the relay lock: `leader: false`.
 * Else, holding the lock for the transaction: read up to `limit` unpublished rows in insertion
 * order, hand them to `publish` and mark them published when it resolves. A crash or a failed publish rolls back the marks and
 * releases the lock; the next round publishes the same rows again, with the same envelope ids.
 */
export async function relaySubscriptionChanges(
  store: Store,
  options: { limit: number; timeoutMs: number },
  publish: (rows: SubscriptionChangeRow[]) => Promise<void>,
): Promise<RelayBatchResult> {
  // Most nudges follow commits that changed nothing: one indexed read (through pg, as the sync's
  // writes) instead of a transaction.
  const pending = await store.sql(
    `SELECT "id" FROM "SubscriptionChange" WHERE "publishedAt" IS NULL LIMIT 1`,
    [],
  );
  if (pending.length === 0) return { leader: false, published: 0 };
  return store.transaction(
    async (tx) => {
      const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`
        SELECT pg_try_advisory_xact_lock(hashtext(${RELAY_LOCK})) AS locked`;
      if (!lock?.locked) return { leader: false, published: 0 };
      const rows = await tx.subscriptionChange.findMany({
        where: { publishedAt: null },
        orderBy: { position: "asc" },
        take: options.limit,
        select: { id: true, subscriptionId: true, sequence: true, envelope: true },
      });
      if (rows.length === 0) return { leader: true, published: 0 };
      await publish(rows);
      await tx.subscriptionChange.updateMany({
        where: { id: { in: rows.map((r) => r.id) } },
        data: { publishedAt: new Date() },
      });
      return { leader: true, published: rows.length };
    },
    { timeoutMs: options.timeoutMs },
  );
}

/**
 * Deletes up to `limit` change events published before `publishedBefore`, oldest first; returns
 * how many. Consumers that fell further behind than the retention read Kafka, not this table: the
 * outbox only has to hold a row until it is published. Unpublished rows are never deleted, and the
 * sequence counters stay, so numbering continues.
 */
export async function prunePublishedChanges(
  db: Db,
  input: { publishedBefore: Date; limit: number },
): Promise<number> {
  return db.$executeRaw`
    DELETE FROM "SubscriptionChange" WHERE id IN (
      SELECT id FROM "SubscriptionChange"
      WHERE "publishedAt" < ${input.publishedBefore}
      ORDER BY "publishedAt" LIMIT ${input.limit})`;
}

/** Rows not yet published (the relay's backlog, for metrics and tests). */
export async function countUnpublishedChanges(db: Db): Promise<number> {
  return db.subscriptionChange.count({ where: { publishedAt: null } });
}

/** A subscription's change events as stored, in sequence order. */
export async function listSubscriptionChanges(db: Db, subscriptionId: string) {
  return db.subscriptionChange.findMany({ where: { subscriptionId }, orderBy: { sequence: "asc" } });
}
