import { randomUUID } from "node:crypto";
import type { Event } from "../generated/client.ts";
import { jsonb } from "../sql-columns.ts";
import type { Db } from "../store.ts";
import { sqlOf } from "../transaction-sql.ts";

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

/**
 * Append one audit event: what changed on a Limio record and what caused it. Through pg (every
 * sync change writes one: transaction-sql.ts says why).
 */
export async function appendEvent(db: Db, input: AuditEventInput): Promise<Event> {
  const [event] = await sqlOf(db)<Event>(
    `INSERT INTO "Event" ("id", "subscriptionId", "orderId", "type", "source", "causeId", "correlationId", "changes", "createdAt")
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9) RETURNING *`,
    [
      `event-${randomUUID().replaceAll("-", "")}`,
      input.subscriptionId ?? null,
      input.orderId ?? null,
      input.type,
      input.source,
      input.causeId ?? null,
      input.correlationId ?? null,
      jsonb(input.changes),
      new Date(),
    ],
  );
  if (!event) throw new Error("INSERT … RETURNING gave no Event row");
  return event;
}

export async function listEventsForSubscription(db: Db, subscriptionId: string, limit = 100) {
  return db.event.findMany({ where: { subscriptionId }, orderBy: { createdAt: "asc" }, take: limit });
}

/** The audit events one message (or Stripe event, or operator run) caused, oldest first. */
export async function listEventsByCause(db: Db, causeId: string) {
  return db.event.findMany({ where: { causeId }, orderBy: { createdAt: "asc" } });
}
