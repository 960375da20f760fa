export { type RunningSyncConsumer, type SyncConsumerOptions, startSyncConsumer } from "./app.ts";
export { CONSUMER } from "./deps.ts";
export { type ImportResult, importExternalSubscription } from "./import-external.ts";
export { createSyncMetrics, type SyncMetrics } from "./metrics.ts";
export { type Drift, type ReconcileResult, reconcileSubscription } from "./reconcile.ts";
