import type { Prisma } from "../client.ts";
import type { PaymentMethod, PaymentSchedule, Subscription } from "../generated/client.ts";
import { jsonb, updateById } from "../sql-columns.ts";
import type { Db, Tx } from "../store.ts";
import { sqlOf } from "../transaction-sql.ts";

export async function findSubscription(db: Db, id: string) {
  return db.subscription.findUnique({ where: { id } });
}

export async function findSubscriptionByStripeId(db: Db, stripeSubscriptionId: string) {
  return db.subscription.findUnique({ where: { stripeSubscriptionId } });
}

export async function findSubscriptionsByStripeCustomer(db: Db, stripeCustomerId: string) {
  return db.subscription.findMany({ where: { stripeCustomerId }, orderBy: { createdAt: "asc" } });
}

/** The subscription as operators read it: customer, addresses, schedules, payment method, audit log. */
export async function findSubscriptionDetail(db: Db, id: string) {
  return db.subscription.findUnique({
    where: { id },
    include: {
      customer: { include: { addresses: true } },
      offer: true,
      paymentSchedules: { orderBy: [{ dueDate: "asc" }, { createdAt: "asc" }] },
      paymentMethod: true,
    },
  });
}

export async function createSubscription(db: Db, data: Prisma.SubscriptionUncheckedCreateInput) {
  return db.subscription.create({ data });
}

export async function updateSubscription(db: Db, id: string, data: Prisma.SubscriptionUncheckedUpdateInput) {
  return db.subscription.update({ where: { id }, data });
}

/** Linked subscriptions in id order after `cursor`: the backfill/reconcile walk, resumable by cursor. */
export async function listLinkedSubscriptions(db: Db, options: { after?: string; limit: number }) {
  return db.subscription.findMany({
    where: { stripeSubscriptionId: { not: null }, ...(options.after ? { id: { gt: options.after } } : {}) },
    orderBy: { id: "asc" },
    take: options.limit,
  });
}

/** How many linked subscriptions come after `after` (the backfill's progress total). */
export async function countLinkedSubscriptions(db: Db, options: { after?: string | undefined } = {}) {
  return db.subscription.count({
    where: { stripeSubscriptionId: { not: null }, ...(options.after ? { id: { gt: options.after } } : {}) },
  });
}

/**
 * Lock one subscription row for the rest of the transaction (`SELECT … FOR UPDATE`) and read it
 * with its payment schedules and payment method; null when it does not exist. Concurrent syncs of
 * one subscription serialise here (docs/decisions/010).
 */
export type LockedSubscription = Subscription & {
  paymentSchedules: PaymentSchedule[];
  paymentMethod: PaymentMethod | null;
};

/** Through pg: every sync starts here (transaction-sql.ts says why). */
export async function lockSubscriptionForSync(tx: Tx, id: string): Promise<LockedSubscription | null> {
  const sql = sqlOf(tx);
  const [row] = await sql<Subscription>(`SELECT * FROM "Subscription" WHERE "id" = $1 FOR UPDATE`, [id]);
  if (!row) return null;
  const paymentSchedules = await sql<PaymentSchedule>(
    `SELECT * FROM "PaymentSchedule" WHERE "subscriptionId" = $1`,
    [id],
  );
  const [paymentMethod] = await sql<PaymentMethod>(
    `SELECT * FROM "PaymentMethod" WHERE "subscriptionId" = $1`,
    [id],
  );
  return { ...row, paymentSchedules, paymentMethod: paymentMethod ?? null };
}

/** The columns a sync writes of a subscription (what changed, when it synced, Stripe's raw state). */
export type SyncedSubscriptionColumns = Partial<
  Omit<Subscription, "id" | "reference" | "customerId" | "createdAt" | "updatedAt">
>;

/** The sync's UPDATE of the row it locked: through pg, as `lockSubscriptionForSync`. */
export async function updateSyncedSubscription(tx: Tx, id: string, data: SyncedSubscriptionColumns) {
  const row = "stripeRaw" in data ? { ...data, stripeRaw: jsonb(data.stripeRaw) } : data;
  await sqlOf(tx)(...updateById("Subscription", id, row));
}
