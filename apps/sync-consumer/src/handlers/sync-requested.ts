import { type Envelope, messageTypes } from "@bridge/domain";
import { type MessageHandler, RetryableError } from "@bridge/messaging";
import { findSubscription, handleOnce } from "@bridge/store";
import { CONSUMER, type SyncDeps, syncStore } from "../deps.ts";
import { syncSubscriptionInTx } from "../sync/apply-sync.ts";
import { dataOf } from "./parse.ts";

/**
 * `limio.sync.requested` (gateway Sync API, writer after an applied order, operators): sync one
 * Limio subscription from Stripe. The inbox row is written in the transaction that applied the
 * sync, so the gateway's `{ success: true }` means the sync is in the store.
 */
export function syncRequestedHandler(deps: SyncDeps): MessageHandler {
  const store = syncStore(deps.store);
  return async (envelope: Envelope) => {
    const data = dataOf(envelope, messageTypes.syncRequested);
    const existing = await findSubscription(deps.store.db, data.subscriptionId);
    if (!existing) {
      // After a `new` order the writer's sync request may overtake its outcome (another topic):
      // retry until the outcome created the subscription; the runtime parks it in the DLQ at last.
      throw new RetryableError(`Limio subscription ${data.subscriptionId} does not exist (yet)`);
    }
    const result = await handleOnce(store, CONSUMER, envelope.id, (tx) =>
      syncSubscriptionInTx(tx, deps, data.subscriptionId, {
        trigger: data.reason,
        causeId: envelope.id,
        correlationId: envelope.correlationId,
        orderId: data.orderId,
      }),
    );
    if (result.duplicate) return;
    if (result.result.kind === "applied") {
      deps.metrics.applied.inc({ trigger: data.reason });
      for (const e of result.result.events) deps.metrics.changes.inc({ kind: e });
    }
    deps.logger.info(
      {
        messageId: envelope.id,
        subscriptionId: data.subscriptionId,
        reason: data.reason,
        result: result.result,
      },
      "sync request handled",
    );
  };
}
