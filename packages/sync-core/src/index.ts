// The sync core: keeps the Limio store true to Stripe (docs/decisions/010). Used by the
// sync-consumer app (one handler per message type) and by the bridge CLI (import, reconcile).
export { type SyncContext, type SyncResult, type SyncTrigger, syncSubscriptionInTx } from "./apply-sync.ts";
export { recordSubscriptionChange, type SubscriptionChangeInput } from "./change-events.ts";
export { type ChangeRelay, type ChangeRelayOptions, nudgingStore, startChangeRelay } from "./change-relay.ts";
export {
  type Coalescer,
  type CoalescerOptions,
  createCoalescer,
  invoiceNamedBy,
  noCoalescing,
} from "./coalescer.ts";
export { customerForNewOrder, derivedLimioId, normaliseEmail, upsertAddress } from "./customers.ts";
export {
  CONSUMER,
  type OperatorDeps,
  operatorDeps,
  SYNC_TRANSACTION_TIMEOUT_MS,
  type SyncDeps,
  syncStore,
} from "./deps.ts";
export { syncErrorClass } from "./failures.ts";
export {
  fetchStripeState,
  INVOICES_PER_SYNC,
  type InvoicePlan,
  type InvoiceRead,
  invoicePlanFor,
  latestInvoiceSuffices,
  type StripeState,
} from "./fetch-stripe-state.ts";
export { type ImportResult, importExternalSubscription } from "./import-external.ts";
export { createSyncMetrics, observeWebhookToStore, type SyncMetrics } from "./metrics.ts";
export {
  applyOrderOutcomeInTx,
  limioAddressChange,
  type StoredOrder,
  type StoredOrderPayload,
} from "./order-outcome.ts";
export { type Drift, type ReconcileResult, reconcileSubscription } from "./reconcile.ts";
export {
  type LimioSubscriptionRow,
  limioSubscriptionIdOf,
  type Resolution,
  type ResolveInput,
  resolveSubscriptions,
} from "./resolve-subscription.ts";
