import type { Db } from "../store.ts";

export type OrderStatus = "queued" | "processing" | "applied" | "requires_action" | "failed" | "skipped";

export type NewOrderRecord = {
  id: string;
  reference: string;
  type: string;
  source: string;
  externalId?: string | null;
  idempotencyKey?: string | null;
  subscriptionId: string;
  status: OrderStatus;
  payload: unknown;
  correlationId?: string | null;
};

/** Insert an order once; recording it again (a redelivery) keeps the first row. True when inserted. */
export async function recordOrder(db: Db, order: NewOrderRecord): Promise<boolean> {
  const { count } = await db.order.createMany({
    data: [{ ...order, payload: order.payload as never }],
    skipDuplicates: true,
  });
  return count === 1;
}

export async function findOrder(db: Db, id: string) {
  return db.order.findUnique({ where: { id } });
}

export async function findOrderByIdempotencyKey(db: Db, idempotencyKey: string) {
  return db.order.findUnique({ where: { idempotencyKey } });
}

export async function findOrderByExternalId(db: Db, source: string, externalId: string) {
  return db.order.findFirst({ where: { source, externalId }, orderBy: { createdAt: "asc" } });
}

export async function setOrderStatus(
  db: Db,
  id: string,
  status: OrderStatus,
  outcome?: unknown,
): Promise<void> {
  await db.order.update({
    where: { id },
    data: { status, ...(outcome === undefined ? {} : { outcome: outcome as never }) },
  });
}
