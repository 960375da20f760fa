import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/client.ts";
import { sharingTransactionConnections } from "./transaction-sql.ts";

export type { Prisma } from "./generated/client.ts";
export type { PrismaClient };

/** How a store's pool is sized and bounded (each timeout unset: wait without bound). */
export type PoolOptions = {
  poolSize?: number;
  /**
   * How long a query waits for a connection (opening one, or for one of the pool's to be free):
   * past it, it fails with pg's "timeout exceeded when trying to connect" (`isStoreUnavailable`).
   */
  connectionTimeoutMs?: number;
  /** Postgres' `statement_timeout` on every connection: a slower statement is cancelled (57014). */
  statementTimeoutMs?: number;
};

/** The one pg pool of a store: Prisma's driver adapter and `Store.sql` both draw from it. */
export function createPool(databaseUrl: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.poolSize ?? 10,
    ...(options.connectionTimeoutMs ? { connectionTimeoutMillis: options.connectionTimeoutMs } : {}),
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // An idle connection dropped (Postgres restarting) must not crash the process: the pool
  // discards it and the next query connects again. (The adapter adds its own listener only once
  // Prisma connects, and removes it on $disconnect.)
  pool.on("error", () => {});
  return pool;
}

/**
 * Prisma client over the pg driver adapter (no native query engine: see prisma.config.ts), on a
 * pool the caller owns: adapter-pg 7.x does not end an external pool on `$disconnect` unless given
 * `disposeExternalPool`, so the caller ends it after disconnecting.
 */
export function createPrismaClient(pool: pg.Pool): PrismaClient {
  return new PrismaClient({ adapter: sharingTransactionConnections(new PrismaPg(pool)) });
}
