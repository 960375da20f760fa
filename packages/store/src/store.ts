import { createPool, createPrismaClient, type Prisma, type PrismaClient } from "./client.ts";

/** A Prisma client or an open transaction: every repository function accepts either. */
export type Db = PrismaClient | Prisma.TransactionClient;

/** An open transaction (what `Store.transaction` hands its work). */
export type Tx = Prisma.TransactionClient;

export type Store = {
  db: PrismaClient;
  /** Run `work` in one serializable-enough transaction (read committed + unique constraints). */
  transaction<T>(
    work: (tx: Prisma.TransactionClient) => Promise<T>,
    options?: { timeoutMs?: number },
  ): Promise<T>;
  /** Cheap round trip for readiness probes. */
  ping(): Promise<boolean>;
  /**
   * One parameterised SQL read through the pg driver alone, for a hot path (the gateway's
   * idempotency read, decision 028): Prisma's client engine compiles every query, raw ones too,
   * in its query compiler (~540 µs of CPU per query here, against ~165 µs for the same query
   * through pg). Rows as pg returns them (jsonb parsed). It shares Prisma's pool, so a store
   * never holds more than `poolSize` connections.
   */
  sql<T>(text: string, values: unknown[]): Promise<T[]>;
  /** Disconnects Prisma, then ends the pool (every connection closed). */
  close(): Promise<void>;
};

/** `poolSize` (default 10) caps the store's connections, Prisma's and `sql`'s together. */
export function createStore(databaseUrl: string, options: { poolSize?: number } = {}): Store {
  const pool = createPool(databaseUrl, options);
  const db = createPrismaClient(pool);
  let closing: Promise<void> | undefined;
  return {
    db,
    async sql<T>(text: string, values: unknown[]) {
      return (await pool.query(text, values)).rows as T[];
    },
    transaction: (work, txOptions = {}) =>
      db.$transaction(work, { timeout: txOptions.timeoutMs ?? 15_000, maxWait: 10_000 }),
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
