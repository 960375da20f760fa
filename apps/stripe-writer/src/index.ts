// Public surface of the writer for other workspaces (end-to-end harness, local runner).
export { actions } from "./actions/index.ts";
export { configSchema, loadConfig, type WriterConfig } from "./config.ts";
export type { Action, ActionContext, ActionResult } from "./context.ts";
export {
  type BeforeStripePayInvoice,
  type BeforeStripeSubscription,
  composeHooks,
  type HookContext,
  HookError,
  type HookModule,
  type Hooks,
  loadHooks,
  type PayInvoiceHookContext,
} from "./hooks.ts";
export { startWriterService, type WriterService, writerTopics } from "./service.ts";
export { idempotencyKeyFor, loadOrderSteps, type StepRunner } from "./steps.ts";
export { createWriter, type Writer, type WriterDeps, type WriterTopics } from "./writer.ts";
