// STUB: reads KAFKA_BROKERS / DATABASE_URL from the environment only.
import type { TestProject } from "vitest/node";

export default async function setup(project: TestProject) {
  project.provide("kafkaBrokers", process.env.KAFKA_BROKERS ?? "");
  project.provide("databaseUrl", process.env.DATABASE_URL ?? "");
}
