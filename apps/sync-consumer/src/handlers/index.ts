import { messageTypes } from "@bridge/domain";
import type { MessageHandler } from "@bridge/messaging";
import type { DeferredInbox } from "@bridge/store";
import type { SyncDeps } from "@bridge/sync-core";
import { orderOutcomeHandler } from "./order-outcome.ts";
import { type StripeEventOutcome, stripeEventHandler } from "./stripe-event.ts";
import { syncRequestedHandler } from "./sync-requested.ts";

export type HandlerHooks = { onStripeEvent?: (eventId: string, outcome: StripeEventOutcome) => void };

/** One handler per envelope type of the three input topics. */
export function syncHandlers(
  deps: SyncDeps,
  hooks: HandlerHooks = {},
  deferred?: DeferredInbox,
): Record<string, MessageHandler> {
  return {
    [messageTypes.orderOutcome]: orderOutcomeHandler(deps),
    [messageTypes.syncRequested]: syncRequestedHandler(deps),
    [messageTypes.stripeEventReceived]: stripeEventHandler(deps, hooks.onStripeEvent, deferred),
  };
}
