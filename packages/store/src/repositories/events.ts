import { randomUUID } from "node:crypto";
import type { Db } from "../store.ts";

export type FieldChanges = Record<string, { from: unknown; to: unknown }>;

export type AuditEventInput = {
  subscriptionId?: string | null;
  orderId?: string | null;
  type: string;
  source: string;
  causeId?: string | null;
  correlationId?: string | null;
  changes: FieldChanges | Record<string, unknown>;
};

/** Append one audit event: what changed on a Limio record and what caused it. */
export async function appendEvent(db: Db, input: AuditEventInput) {
  return db.event.create({
    data: {
      id: `event-${randomUUID().replaceAll("-", "")}`,
      subscriptionId: input.subscriptionId ?? null,
      orderId: input.orderId ?? null,
      type: input.type,
      source: input.source,
      causeId: input.causeId ?? null,
      correlationId: input.correlationId ?? null,
      changes: input.changes as never,
    },
  });
}

export async function listEventsForSubscription(db: Db, subscriptionId: string, limit = 100) {
  return db.event.findMany({ where: { subscriptionId }, orderBy: { createdAt: "asc" }, take: limit });
}

/** The audit events one message (or Stripe event, or operator run) caused, oldest first. */
export async function listEventsByCause(db: Db, causeId: string) {
  return db.event.findMany({ where: { causeId }, orderBy: { createdAt: "asc" } });
}
