// The one test harness (test-only: a devDependency of the apps and of test/, never imported by
// product code). Infrastructure is started once per vitest run by local-infra's global setup;
// each test file takes its own databases and topics, so files run in parallel.
export {
  adminDatabaseUrl,
  freshDatabase,
  freshTopic,
  kafkaBrokers,
  uniqueName,
  until,
} from "@bridge/local-infra/testing";
export type { EmulatorConfig, RunningEmulator } from "@bridge/stripe-emulator";
export { startEmulator } from "@bridge/stripe-emulator";
export { topicSize } from "./kafka.ts";
export { seedLimioSubscription } from "./store.ts";
export {
  advanceClock,
  type EmulatedStripe,
  startStripe,
  stripeSubscription,
  subscriptionFetches,
  utc,
} from "./stripe.ts";
