// Test-side API of the harness. Test files import from "@bridge/local-infra/testing".
// The infrastructure is started once per run by vitest-global-setup.ts; each test file takes its
// own databases (freshDatabase) and topics (freshTopic / uniqueName), so files run in parallel.
import { Kafka, logLevel } from "kafkajs";
import { inject } from "vitest";
import { createDatabase, uniqueDatabaseName } from "./databases.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kafkaBrokers: string;
    /** Admin URL of the run's Postgres server. */
    databaseUrl: string;
    /** Migrated template database that freshDatabase() copies. */
    databaseTemplate: string;
    /** Prefix of every database created by this run. */
    databaseNamePrefix: string;
  }
}

function provided<K extends "kafkaBrokers" | "databaseUrl" | "databaseTemplate" | "databaseNamePrefix">(
  key: K,
): string {
  const value = inject(key);
  if (!value) {
    throw new Error(
      `"${key}" was not provided: run the tests through the root vitest.config.ts, whose globalSetup ` +
        "(packages/local-infra/src/vitest-global-setup.ts) starts Kafka and Postgres",
    );
  }
  return value;
}

/** Broker list of the Kafka started (or configured) for this test run. */
export function kafkaBrokers(): string[] {
  return provided("kafkaBrokers").split(",");
}

/** A name unique to this test run and file, for topics, groups and databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Admin connection URL of the run's Postgres (prefer freshDatabase() for anything that writes). */
export function adminDatabaseUrl(): string {
  return provided("databaseUrl");
}

/**
 * A new database for the calling test file, copied from the migrated template (empty if there is
 * no template), and its connection URL.
 */
export async function freshDatabase(prefix = "test"): Promise<string> {
  const name = uniqueDatabaseName(`${inject("databaseNamePrefix") ?? "t_"}${prefix}`);
  return createDatabase(provided("databaseUrl"), name, inject("databaseTemplate") || undefined);
}

/** Creates a topic with a unique name (auto-creation is off on the local broker) and returns the name. */
export async function freshTopic(prefix: string, options: { partitions?: number } = {}): Promise<string> {
  const topic = uniqueName(prefix);
  const admin = new Kafka({
    brokers: kafkaBrokers(),
    clientId: "test-topics",
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: options.partitions ?? 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  return topic;
}

/**
 * Polls `condition` until it holds, failing after `timeoutMs` with what was awaited: tests wait
 * on real conditions (a row written, a message consumed), never on fixed sleeps.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
