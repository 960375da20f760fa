// Vitest global setup (root vitest.config.ts): starts Kafka and Postgres once per run (see
// infra.ts), prepares the migrated template database that every test file copies
// (testing.ts#freshDatabase), hands the addresses to the test workers, and stops it all at the end.
import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import {
  createTemplateDatabase,
  dropDatabasesWithPrefix,
  sealTemplate,
  TEMPLATE_DATABASE,
} from "./databases.ts";
import { applyStoreMigrations } from "./databases-migrated.ts";
import { describeInfra, type Infra, startInfra } from "./infra.ts";
import { log } from "./log.ts";

async function applyMigrationsTo(url: string): Promise<void> {
  const t = Date.now();
  await applyStoreMigrations(url);
  log(`migrations applied to ${TEMPLATE_DATABASE} in ${Date.now() - t} ms`);
}

/** Ends the run with one line saying which part did not start and why (details logged above). */
async function startOrExit(): Promise<Infra> {
  try {
    return await startInfra();
  } catch (error) {
    log(`the tests cannot run: ${(error as Error).message.split("\n")[0]}`);
    process.exit(1);
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const infra = await startOrExit();
  const databaseNamePrefix = `t_${randomBytes(3).toString("hex")}_`;
  try {
    const templateUrl = await createTemplateDatabase(infra.databaseUrl);
    await applyMigrationsTo(templateUrl);
    await sealTemplate(infra.databaseUrl);
  } catch (error) {
    await infra.stop();
    throw error;
  }

  project.provide("kafkaBrokers", infra.kafkaBrokers);
  project.provide("databaseUrl", infra.databaseUrl);
  project.provide("databaseTemplate", TEMPLATE_DATABASE);
  project.provide("databaseNamePrefix", databaseNamePrefix);
  log(`test infrastructure ready: ${describeInfra(infra)}`);

  return async () => {
    // A local cluster is deleted with its data; a server that outlives the run keeps nothing of ours.
    if (infra.mode.postgres !== "local") {
      const dropped = await dropDatabasesWithPrefix(infra.databaseUrl, databaseNamePrefix).catch(
        (error: unknown) => {
          log(`could not drop this run's databases: ${(error as Error).message}`);
          return 0;
        },
      );
      if (dropped > 0) log(`dropped ${dropped} test databases`);
    }
    const t = Date.now();
    await infra.stop();
    log(`test infrastructure stopped in ${Date.now() - t} ms`);
  };
}
