import {
  beforeAfter,
  changeKindOfAuditType,
  type Envelope,
  type SubscriptionChangedV1,
  subscriptionChangedEnvelope,
  subscriptionChangedType,
} from "@bridge/domain";
import { type AuditEventInput, appendEvent, appendSubscriptionChange, type Tx } from "@bridge/store";

export type SubscriptionChangeInput = AuditEventInput & {
  subscriptionId: string;
  /** The operator who ran an action (CLI), when there is one. */
  operator?: string | undefined;
};

/**
 * Record one change to a Limio subscription inside the caller's transaction: its audit Event and
 * its outbox row (docs/decisions/017), so a commit has both or neither. The audit type must be one
 * of the change kinds (`subscriptionChangeKinds`); the envelope is validated before it is stored,
 * so the relay never meets a row it cannot publish.
 */
export async function recordSubscriptionChange(tx: Tx, input: SubscriptionChangeInput) {
  const kind = changeKindOfAuditType(input.type);
  if (!kind) throw new Error(`${input.type} is not a subscription change kind`);
  const event = await appendEvent(tx, input);
  const causeId = input.causeId ?? undefined;
  await appendSubscriptionChange(tx, {
    subscriptionId: input.subscriptionId,
    eventId: event.id,
    envelopeFor: (id, sequence): Envelope<SubscriptionChangedV1> =>
      subscriptionChangedEnvelope.parse({
        id,
        type: subscriptionChangedType,
        version: 1,
        occurredAt: event.createdAt.toISOString(),
        source: "sync-consumer",
        correlationId: input.correlationId ?? causeId ?? id,
        ...(causeId ? { causationId: causeId } : {}),
        data: {
          subscriptionId: input.subscriptionId,
          sequence,
          kind,
          ...beforeAfter(input.changes),
          cause: {
            source: input.source,
            ...(causeId ? { messageId: causeId } : {}),
            ...(causeId?.startsWith("evt_") ? { stripeEventId: causeId } : {}),
            ...(input.orderId ? { orderId: input.orderId } : {}),
            ...(input.operator ? { operator: input.operator } : {}),
          },
          auditEventId: event.id,
          occurredAt: event.createdAt.toISOString(),
        },
      }),
  });
  return event;
}
