import type { Prisma } from "../client.ts";
import type { Db } from "../store.ts";

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
export async function lockSubscriptionForSync(tx: Prisma.TransactionClient, id: string) {
  const locked = await tx.$queryRaw<
    { id: string }[]
  >`SELECT id FROM "Subscription" WHERE id = ${id} FOR UPDATE`;
  if (locked.length === 0) return null;
  return tx.subscription.findUnique({
    where: { id },
    include: { paymentSchedules: true, paymentMethod: true },
  });
}

export type LockedSubscription = NonNullable<Awaited<ReturnType<typeof lockSubscriptionForSync>>>;
