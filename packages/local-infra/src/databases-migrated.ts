import { createDatabase, uniqueDatabaseName } from "./databases.ts";
import { describeInfra, type Infra, type StartInfraOptions, startInfra } from "./infra.ts";

/**
 * Applies the store's migrations (`prisma migrate deploy`). Imported by name, not statically:
 * @bridge/store's tests depend on this package, and a static import would make each package
 * depend on the other.
 */
export async function applyStoreMigrations(databaseUrl: string): Promise<void> {
  const specifier: string = "@bridge/store/migrations";
  const { applyMigrations } = (await import(specifier)) as { applyMigrations(url: string): Promise<void> };
  await applyMigrations(databaseUrl);
}

export type InfraWithDatabase = {
  kafkaBrokers: string;
  /** A database of its own, migrated, so a script never touches a developer's data. */
  databaseUrl: string;
  description: string;
  stop(): Promise<void>;
};

/**
 * Kafka and a fresh migrated database for a script run outside vitest (benchmarks, tools):
 * Kafka and Postgres as `startInfra` provides them (the environment's when set, else started).
 */
export async function startInfraWithDatabase(
  prefix: string,
  options: StartInfraOptions = {},
): Promise<InfraWithDatabase> {
  const infra: Infra = await startInfra(options);
  try {
    const databaseUrl = await createDatabase(infra.databaseUrl, uniqueDatabaseName(prefix));
    await applyStoreMigrations(databaseUrl);
    return {
      kafkaBrokers: infra.kafkaBrokers,
      databaseUrl,
      description: describeInfra(infra),
      stop: () => infra.stop(),
    };
  } catch (error) {
    await infra.stop();
    throw error;
  }
}
