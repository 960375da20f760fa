import { type Envelope, isLimioInitiated, messageTypes, type StripeEventLike } from "@bridge/domain";
import { type MessageContext, type MessageHandler, messageData } from "@bridge/messaging";
import { type DeferredInbox, handleOnce, recordUnmatched } from "@bridge/store";
import {
  CONSUMER,
  invoiceNamedBy,
  limioSubscriptionIdOf,
  observeWebhookToStore,
  resolveSubscriptions,
  type SyncDeps,
  type SyncResult,
  syncStore,
  syncSubscriptionInTx,
} from "@bridge/sync-core";

export type StripeEventOutcome =
  | "skipped_loop"
  | "skipped_coalesced"
  | "unmatched"
  | "ignored"
  | "synced"
  | "duplicate";

/** Where a partition's deferred inbox rows are queued: flushed before its offset is committed. */
export const partitionKeyOf = (topic: string, partition: number) => `${topic}:${partition}`;

/**
 * `stripe.event.received` (the gateway's verified webhooks). The event only says *which*
 * subscription changed: Stripe's current state is re-fetched, so duplicates and reordering
 * converge. Limio-initiated events are not synced (loop prevention), Stripe-initiated ones are
 * applied with audit source `stripe`. Nothing is ever published from here.
 *
 * An event whose only effect is its inbox row (a loop, an ignored type, one already reflected by a
 * refetch: most of a storm) queues the row in `deferred`, written once per batch before the
 * commit (decision 027); without `deferred`, it gets its own transaction.
 */
export function stripeEventHandler(
  deps: SyncDeps,
  onOutcome?: (eventId: string, outcome: StripeEventOutcome) => void,
  deferred?: DeferredInbox,
): MessageHandler {
  const store = syncStore(deps.store);
  const done = (envelope: Envelope, outcome: StripeEventOutcome) => {
    // Called once the handling is committed; a redelivery was measured the first time.
    if (outcome !== "duplicate") observeWebhookToStore(deps.metrics, envelope.occurredAt, outcome);
    onOutcome?.(envelope.id, outcome);
  };
  /** Records the message as handled with no other effect; `counted` runs if it was not a duplicate. */
  const inboxOnly = async (
    envelope: Envelope,
    context: MessageContext,
    outcome: StripeEventOutcome,
    counted: () => void,
  ) => {
    const settled = (duplicate: boolean) => {
      if (!duplicate) counted();
      done(envelope, duplicate ? "duplicate" : outcome);
    };
    if (deferred) return deferred.add(partitionKeyOf(context.topic, context.partition), envelope.id, settled);
    settled((await handleOnce(store, CONSUMER, envelope.id, async () => undefined)).duplicate);
  };

  return async (envelope: Envelope, context: MessageContext) => {
    const data = messageData(envelope, messageTypes.stripeEventReceived);
    const event = data.event as unknown as StripeEventLike;
    // The message's logger already binds messageId, messageType and correlationId.
    const log = context.logger.child({ stripeEventId: data.eventId, type: data.type });

    // A copy of this event already handled in this batch whose row is still queued (coalesced,
    // loop, ignored) is a duplicate, as it will be once the row is written: without this, the
    // second copy found no row and, above the coalescing watermark, refetched Stripe.
    if (deferred?.isQueued(partitionKeyOf(context.topic, context.partition), envelope.id)) {
      log.debug("a copy of this event is queued in this batch: duplicate");
      return inboxOnly(envelope, context, "duplicate", () => {});
    }

    const loop = isLimioInitiated(event, {});
    if (loop.limioInitiated) {
      log.debug({ reasons: loop.reasons }, "Limio-initiated Stripe event: not synced");
      return inboxOnly(envelope, context, "skipped_loop", () => deps.metrics.skippedLoop.inc());
    }

    const resolution = await resolveSubscriptions(deps.store, {
      stripeSubscriptionId: data.related.subscriptionId,
      stripeCustomerId: data.related.customerId,
      limioSubscriptionId: limioSubscriptionIdOf(event.data.object),
    });

    if (resolution.kind === "unmatched") {
      const r = await handleOnce(store, CONSUMER, envelope.id, (tx) =>
        recordUnmatched(tx, {
          stripeSubscriptionId: resolution.stripeSubscriptionId,
          stripeCustomerId: resolution.stripeCustomerId ?? null,
          eventId: data.eventId,
          eventType: data.type,
        }),
      );
      if (!r.duplicate) deps.metrics.unmatched.inc();
      log.info({ stripeSubscriptionId: resolution.stripeSubscriptionId }, "Stripe subscription not in Limio");
      return done(envelope, r.duplicate ? "duplicate" : "unmatched");
    }
    if (resolution.kind === "none") {
      return inboxOnly(envelope, context, "ignored", () =>
        deps.metrics.ignored.inc({ reason: resolution.reason }),
      );
    }

    const ids = resolution.subscriptions.map((s) => s.id).sort();
    const { topic, partition, offset } = context;
    // After any sync of these subscriptions in flight here, which may already reflect this event.
    return deps.coalescer.serialise(topic, ids, async () => {
      const namedInvoice = invoiceNamedBy(event.data.object as Record<string, unknown>);
      if (ids.every((id) => deps.coalescer.isReflected(topic, partition, id, offset, namedInvoice))) {
        log.debug({ subscriptionIds: ids }, "already reflected by a later refetch: coalesced");
        return inboxOnly(envelope, context, "skipped_coalesced", () => deps.metrics.skippedCoalesced.inc());
      }

      // Read the log position BEFORE fetching Stripe: everything below it is reflected by the fetch.
      const watermark = await deps.coalescer.snapshot(topic, context.appendedAt, context.signal);
      const r = await handleOnce(store, CONSUMER, envelope.id, async (tx) => {
        const results: SyncResult[] = [];
        // Sorted ids: two events locking the same subscriptions never deadlock.
        for (const id of ids) {
          results.push(
            await syncSubscriptionInTx(tx, deps, id, {
              trigger: "stripe",
              causeId: data.eventId,
              correlationId: envelope.correlationId,
              // Coalescing: the latest invoice may do instead of the list (decision 023).
              ...(deps.coalescer.enabled ? { namedInvoices: namedInvoice ? [namedInvoice] : [] } : {}),
            }),
          );
        }
        return results;
      });
      if (r.duplicate) return done(envelope, "duplicate");
      for (const result of r.result) {
        if (result.kind !== "applied") continue;
        deps.metrics.applied.inc({ trigger: "stripe" });
        for (const e of result.events) deps.metrics.changes.inc({ kind: e });
        if (watermark !== undefined)
          deps.coalescer.remember(topic, result.subscriptionId, watermark, result.read);
      }
      for (const result of r.result) {
        log.info({ via: resolution.via, subscriptionId: result.subscriptionId, result }, "sync applied");
      }
      return done(envelope, "synced");
    });
  };
}
