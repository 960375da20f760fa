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
