import type { Db } from "../store.ts";

/** Count a Stripe subscription seen in events that no Limio subscription is linked to. */
export async function recordUnmatched(
  db: Db,
  input: {
    stripeSubscriptionId: string;
    stripeCustomerId?: string | null;
    eventId?: string;
    eventType?: string;
  },
): Promise<void> {
  const now = new Date();
  await db.unmatchedStripeSubscription.upsert({
    where: { stripeSubscriptionId: input.stripeSubscriptionId },
    create: {
      stripeSubscriptionId: input.stripeSubscriptionId,
      stripeCustomerId: input.stripeCustomerId ?? null,
      lastEventId: input.eventId ?? null,
      lastEventType: input.eventType ?? null,
    },
    update: {
      lastSeenAt: now,
      lastEventId: input.eventId ?? null,
      lastEventType: input.eventType ?? null,
      seenCount: { increment: 1 },
    },
  });
}

export async function listUnmatched(db: Db, limit = 100) {
  return db.unmatchedStripeSubscription.findMany({
    where: { importedAs: null },
    orderBy: { lastSeenAt: "desc" },
    take: limit,
  });
}

export async function markImported(db: Db, stripeSubscriptionId: string, limioSubscriptionId: string) {
  await db.unmatchedStripeSubscription.updateMany({
    where: { stripeSubscriptionId },
    data: { importedAs: limioSubscriptionId },
  });
}
