import {
  createPool,
  createPrismaClient,
  type PoolOptions,
  type Prisma,
  type PrismaClient,
} from "./client.ts";
import { registerPoolSql, sqlOf, withTransactionSql } from "./transaction-sql.ts";

/** A Prisma client or an open transaction: every repository function accepts either. */
export type Db = PrismaClient | Prisma.TransactionClient;

/** An open transaction (what `Store.transaction` hands its work). */
export type Tx = Prisma.TransactionClient;

export type Store = {
  db: PrismaClient;
  /**
   * Run `work` in one serializable-enough transaction (read committed + unique constraints).
   * `sqlOf(tx)` runs SQL inside it, through pg alone (transaction-sql.ts).
   */
  transaction<T>(
    work: (tx: Prisma.TransactionClient) => Promise<T>,
    options?: { timeoutMs?: number },
  ): Promise<T>;
  /** Cheap round trip for readiness probes. */
  ping(): Promise<boolean>;
  /**
   * One parameterised SQL statement through the pg driver alone, for a hot path (the gateway's
   * reads, decision 028; the sync's, decision 031): Prisma's client engine compiles every query,
   * raw ones too, in its query compiler (~540 µs of CPU per query here, against ~165 µs for the
   * same query through pg). Rows as pg returns them (jsonb parsed, `DateTime` columns as
   * `Date`s). It shares Prisma's pool, so a store never holds more than `poolSize` connections.
   * The same as `sqlOf(store.db)`.
   */
  sql<T>(text: string, values: unknown[]): Promise<T[]>;
  /** Disconnects Prisma, then ends the pool (every connection closed). */
  close(): Promise<void>;
};

/**
 * `poolSize` (default 10) caps the store's connections, Prisma's and `sql`'s together; the
 * timeouts (default none) bound how long a query waits for a connection and runs (client.ts).
 */
export function createStore(databaseUrl: string, options: PoolOptions = {}): Store {
  const pool = createPool(databaseUrl, options);
  const db = createPrismaClient(pool);
  registerPoolSql(db, pool);
  const sql = sqlOf(db);
  let closing: Promise<void> | undefined;
  return {
    db,
    sql: (text, values) => sql(text, values),
    transaction: (work, txOptions = {}) =>
      withTransactionSql(
        (inTx) => db.$transaction(inTx, { timeout: txOptions.timeoutMs ?? 15_000, maxWait: 10_000 }),
        work,
      ),
    async ping() {
      try {
        await db.$queryRaw`SELECT 1`;
        return true;
      } catch {
        return false;
      }
    },
    close() {
      // Prisma first: its adapter gives the pool back (it does not end a pool it was handed).
      // Once: pg refuses a second end() of a pool.
      closing ??= db.$disconnect().then(() => pool.end());
      return closing;
    },
  };
}
