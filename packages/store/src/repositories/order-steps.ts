import type { Db } from "../store.ts";

/** Completed steps of one order, by step name, with the result each recorded (e.g. Stripe ids). */
export async function completedSteps(db: Db, orderId: string): Promise<Map<string, unknown>> {
  const rows = await db.orderStep.findMany({ where: { orderId }, orderBy: { completedAt: "asc" } });
  return new Map(rows.map((row) => [row.step, row.result]));
}

/** Record a completed step. Recording the same step twice keeps the first result. */
export async function recordStep(db: Db, orderId: string, step: string, result: unknown): Promise<void> {
  await db.orderStep.createMany({
    data: [{ orderId, step, result: (result ?? null) as never }],
    skipDuplicates: true,
  });
}

/**
 * The order waiting for this invoice's (or PaymentIntent's) payment: the one that recorded a step
 * named `<prefix>awaiting-payment` with this `invoiceId` or `paymentIntentId` in its result.
 * Null when no order waits for it (an ordinary renewal, or another system's invoice).
 */
export async function findOrderAwaitingPayment(
  db: Db,
  ref: { invoiceId?: string | undefined; paymentIntentId?: string | undefined },
): Promise<{ orderId: string; step: string; result: unknown } | null> {
  const matches = [
    ...(ref.invoiceId ? [{ result: { path: ["invoiceId"], equals: ref.invoiceId } }] : []),
    ...(ref.paymentIntentId ? [{ result: { path: ["paymentIntentId"], equals: ref.paymentIntentId } }] : []),
  ];
  if (matches.length === 0) return null;
  const row = await db.orderStep.findFirst({
    where: { step: { endsWith: "awaiting-payment" }, OR: matches },
    orderBy: { completedAt: "desc" },
  });
  return row ? { orderId: row.orderId, step: row.step, result: row.result } : null;
}
