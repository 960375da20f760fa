// Read models of the operator console (apps/ingest-gateway/src/console): orders with their
// timeline, a subscription beside Stripe's last-synced state, and what the inbox and the audit
// log say about messages an operator re-drove.
import type { Db } from "../store.ts";

export type OrderFilter = {
  status?: string;
  type?: string;
  source?: string;
  /** Only orders created before this (the previous page's last `createdAt`). */
  before?: Date;
  limit: number;
};

/** Newest first, filtered by status, type and source. */
export async function listOrdersFiltered(db: Db, filter: OrderFilter) {
  return db.order.findMany({
    where: {
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.type ? { type: filter.type } : {}),
      ...(filter.source ? { source: filter.source } : {}),
      ...(filter.before ? { createdAt: { lt: filter.before } } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: filter.limit,
  });
}

/** One order with what the writer did in Stripe (its steps) and what the sync recorded (events). */
export async function findOrderWithTimeline(db: Db, orderId: string) {
  const order = await db.order.findUnique({ where: { id: orderId } });
  if (!order) return null;
  const [steps, events] = await Promise.all([
    db.orderStep.findMany({ where: { orderId }, orderBy: { completedAt: "asc" } }),
    db.event.findMany({ where: { orderId }, orderBy: { createdAt: "asc" }, take: 200 }),
  ]);
  return { order, steps, events };
}

/** A Limio subscription as the console shows it: the record, its customer, schedules, card, history. */
export async function findSubscriptionForConsole(db: Db, id: string, eventLimit = 50) {
  const subscription = await db.subscription.findUnique({
    where: { id },
    include: {
      customer: true,
      offer: { select: { id: true, name: true } },
      paymentSchedules: { orderBy: [{ dueDate: "asc" }, { stripeKey: "asc" }] },
      paymentMethod: true,
    },
  });
  if (!subscription) return null;
  const events = await db.event.findMany({
    where: { subscriptionId: id },
    orderBy: { createdAt: "desc" },
    take: eventLimit,
  });
  return { subscription, events };
}

/** The message ids (of those given) some consumer recorded in its inbox: their effect is applied. */
export async function handledMessageIds(db: Db, messageIds: string[]): Promise<Set<string>> {
  if (messageIds.length === 0) return new Set();
  const rows = await db.inboxMessage.findMany({
    where: { messageId: { in: messageIds } },
    select: { messageId: true },
  });
  return new Set(rows.map((row) => row.messageId));
}

/** The orders (of those given) the writer finished: applied, failed or skipped. */
export async function finishedOrderIds(db: Db, orderIds: string[]): Promise<Set<string>> {
  if (orderIds.length === 0) return new Set();
  const rows = await db.order.findMany({
    where: { id: { in: orderIds }, status: { in: ["applied", "failed", "skipped"] } },
    select: { id: true },
  });
  return new Set(rows.map((row) => row.id));
}

/** Audit events of the given types caused by the given message ids (e.g. console re-drives). */
export async function eventsCausedBy(db: Db, types: string[], causeIds: string[]) {
  if (causeIds.length === 0) return [];
  return db.event.findMany({
    where: { type: { in: types }, causeId: { in: causeIds } },
    orderBy: { createdAt: "asc" },
  });
}

/**
 * What the store knows about drift: the latest changes syncs applied (each one a difference
 * between Limio and Stripe that a sync repaired) and the Stripe subscriptions seen in events with
 * no Limio subscription. Reconcile runs themselves are not recorded (`bridge reconcile` prints).
 */
export async function driftEvidence(db: Db, limit = 50) {
  const [repaired, unmatched, unmatchedCount] = await Promise.all([
    db.event.findMany({
      where: {
        type: { startsWith: "subscription." },
        source: { in: ["webhook", "operator", "api", "order"] },
      },
      orderBy: { createdAt: "desc" },
      take: limit,
    }),
    db.unmatchedStripeSubscription.findMany({
      where: { importedAs: null },
      orderBy: { lastSeenAt: "desc" },
      take: limit,
    }),
    db.unmatchedStripeSubscription.count({ where: { importedAs: null } }),
  ]);
  return { repaired, unmatched, unmatchedCount };
}
