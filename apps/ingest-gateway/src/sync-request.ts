import { randomUUID } from "node:crypto";
import { type Envelope, messageTypes, type SyncRequestedV1 } from "@bridge/domain";
import type { FastifyInstance } from "fastify";

/**
 * Publishes `limio.sync.requested` v1 asking the sync-consumer to re-sync one Limio subscription
 * from Stripe: the Sync API route (reason `api`) and the operator console (reason `operator`)
 * both go through here. Resolves with the message id once Kafka acknowledged it; the
 * sync-consumer records that id in its inbox in the transaction that applies the sync.
 */
export async function publishSyncRequest(
  app: FastifyInstance,
  topic: string,
  request: { subscriptionId: string; reason: "api" | "operator"; correlationId: string },
): Promise<string> {
  const messageId = randomUUID();
  const now = new Date().toISOString();
  const envelope: Envelope<SyncRequestedV1> = {
    id: messageId,
    type: messageTypes.syncRequested,
    version: 1,
    occurredAt: now,
    source: request.reason,
    correlationId: request.correlationId,
    data: {
      subscriptionId: request.subscriptionId,
      reason: request.reason,
      requestId: messageId,
      requestedAt: now,
    },
  };
  await app.publish(topic, { key: request.subscriptionId, envelope });
  return messageId;
}
