import { createPrismaClient, type Prisma, type PrismaClient } from "./client.ts";

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
  close(): Promise<void>;
};

export function createStore(databaseUrl: string, options: { poolSize?: number } = {}): Store {
  const db = createPrismaClient(databaseUrl, options);
  return {
    db,
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
    close: () => db.$disconnect(),
  };
}
