import { type Envelope, messageTypes } from "@bridge/domain";
import { type MessageContext, type MessageHandler, messageData, RetryableError } from "@bridge/messaging";
import { findOrder, handleOnce } from "@bridge/store";
import { applyOrderOutcomeInTx, CONSUMER, type SyncDeps, syncStore } from "@bridge/sync-core";

/**
 * `limio.order.outcome` (from the stripe-writer): the one message that tells the sync an order
 * was applied. Applied to the Limio store (and the subscription synced inline) in the same
 * transaction as the inbox row.
 */
export function orderOutcomeHandler(deps: SyncDeps): MessageHandler {
  const store = syncStore(deps.store);
  return async (envelope: Envelope, context: MessageContext) => {
    const outcome = messageData(envelope, messageTypes.orderOutcome);
    const order = await findOrder(deps.store.db, outcome.orderId);
    if (!order) throw new RetryableError(`order ${outcome.orderId} is not recorded (yet)`);

    const r = await handleOnce(store, CONSUMER, envelope.id, (tx) =>
      applyOrderOutcomeInTx(tx, deps, outcome, order, envelope),
    );
    if (r.duplicate) return;
    if (r.result?.kind === "applied") {
      deps.metrics.applied.inc({ trigger: "order" });
      for (const e of r.result.events) deps.metrics.changes.inc({ kind: e });
    }
    // The message's logger (messageId, correlationId bound): the order's correlation id.
    context.logger.info(
      {
        orderId: outcome.orderId,
        subscriptionId: outcome.subscriptionId,
        status: outcome.status,
        orderType: outcome.orderType,
        result: r.result,
      },
      "sync applied",
    );
  };
}
