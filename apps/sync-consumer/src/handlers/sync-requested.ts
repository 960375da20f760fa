import { type Envelope, messageTypes } from "@bridge/domain";
import { type MessageContext, type MessageHandler, messageData, RetryableError } from "@bridge/messaging";
import { findOrder, findSubscription, handleOnce } from "@bridge/store";
import { CONSUMER, type SyncDeps, syncStore, syncSubscriptionInTx } from "@bridge/sync-core";

/**
 * `limio.sync.requested` (gateway Sync API, operators and the CLI): sync one Limio subscription
 * from Stripe. The inbox row is written in the transaction that applied the sync, so the Sync
 * API's `{ success: true }` means the sync is in the store (`isSyncHandled` in store).
 */
export function syncRequestedHandler(deps: SyncDeps): MessageHandler {
  const store = syncStore(deps.store);
  return async (envelope: Envelope, context: MessageContext) => {
    const data = messageData(envelope, messageTypes.syncRequested);
    const existing = await findSubscription(deps.store.db, data.subscriptionId);
    if (!existing && (await mayStillBeCreated(deps, data.orderId))) {
      // A request naming a `new` order may arrive before that order's outcome (another topic):
      // retry until the outcome created the subscription; the runtime parks it in the DLQ at last.
      throw new RetryableError(`Limio subscription ${data.subscriptionId} does not exist (yet)`);
    }
    if (data.reason === "order" && reflectedSince(existing?.lastSyncedAt, envelope.occurredAt)) {
      // The order's outcome already synced this subscription inline, after this request was
      // issued. Syncing again later (this request may come back from the retry topic minutes
      // on) would apply whatever Stripe did meanwhile, a renewal or a dunning cancellation, as
      // if the order had caused it; the webhooks for those changes sync them as Stripe's.
      const skipped = await handleOnce(store, CONSUMER, envelope.id, async () => undefined);
      if (skipped.duplicate) return;
      deps.metrics.skippedCoalesced.inc();
      context.logger.info(
        { subscriptionId: data.subscriptionId, reason: data.reason, result: { kind: "skipped_reflected" } },
        "sync skipped: already reflected since the request",
      );
      return;
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
    // The message's logger (messageId, correlationId bound): the requester's correlation id.
    context.logger.info(
      { subscriptionId: data.subscriptionId, reason: data.reason, result: result.result },
      "sync applied",
    );
  };
}

/** Has a sync read Stripe after `issuedAt`? Then that sync reflects everything the request asks. */
function reflectedSince(lastSyncedAt: Date | null | undefined, issuedAt: string): boolean {
  return lastSyncedAt != null && lastSyncedAt.getTime() >= Date.parse(issuedAt);
}

/**
 * Will an order outcome still create this subscription? Only a sync requested for an order can
 * wait for one: while the order is not final, or when its outcome names a Stripe subscription
 * (the outcome creating the Limio subscription is then on its way). A failed `new` order that
 * never reached Stripe, or a request for an unknown id, has nothing to sync: recorded, not retried.
 */
async function mayStillBeCreated(deps: SyncDeps, orderId: string | undefined): Promise<boolean> {
  if (!orderId) return false;
  const order = await findOrder(deps.store.db, orderId);
  if (!order) return true;
  if (order.type !== "new") return false;
  if (!["applied", "failed", "skipped"].includes(order.status)) return true;
  const outcome = order.outcome as { stripe?: { subscriptionId?: string } } | null;
  if (!outcome) return true;
  return typeof outcome.stripe?.subscriptionId === "string";
}
