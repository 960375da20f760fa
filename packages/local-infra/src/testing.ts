// Test-side API of the harness. Test files import from "@bridge/local-infra/testing".
// STUB: to be completed by the harness work (per-file databases, topics).
import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    kafkaBrokers: string;
    databaseUrl: string;
  }
}

/** Broker list of the Kafka started (or configured) for this test run. */
export function kafkaBrokers(): string[] {
  return inject("kafkaBrokers").split(",");
}

/** A name unique to this test run and file, for topics, groups and databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
