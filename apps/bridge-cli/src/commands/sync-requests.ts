import { randomUUID } from "node:crypto";
import { type Envelope, messageTypes, type SyncRequestedV1 } from "@bridge/domain";
import type { OutgoingMessage } from "@bridge/messaging";

/** A `limio.sync.requested` message asking the sync-consumer to re-sync one subscription. */
export function operatorSyncRequest(
  subscriptionId: string,
  correlationId = randomUUID(),
): OutgoingMessage<SyncRequestedV1> {
  const id = randomUUID();
  const envelope: Envelope<SyncRequestedV1> = {
    id,
    type: messageTypes.syncRequested,
    version: 1,
    occurredAt: new Date().toISOString(),
    source: "operator",
    correlationId,
    data: { subscriptionId, reason: "operator", requestId: id, requestedAt: new Date().toISOString() },
  };
  return { key: subscriptionId, envelope };
}
