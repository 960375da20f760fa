import { AsyncLocalStorage } from "node:async_hooks";
import type { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";

/**
 * One parameterised SQL statement through pg alone, no Prisma: rows as pg returns them (jsonb
 * parsed), with Prisma's `DateTime` columns as `Date`s. Prisma's client engine runs every query,
 * raw ones too, through its wasm query compiler: about 600 µs of CPU each on this machine, most
 * of a sync's CPU in a renewal storm (decision 030). The hot paths (the gateway's reads, the
 * sync's transaction) use this instead; the rest keeps Prisma's typed queries.
 */
export type Sql = <T>(text: string, values?: readonly unknown[]) => Promise<T[]>;

/** Prisma's `DateTime` is `timestamp(3)` holding UTC; pg would read it as this machine's local time. */
const TIMESTAMP_OID = 1114;
const parseUtcTimestamp = (value: string) => new Date(`${value.replace(" ", "T")}Z`);
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === TIMESTAMP_OID ? parseUtcTimestamp : pg.types.getTypeParser(oid, format as "text")) as never,
};

/** A `Date` goes out as a UTC instant, as Prisma writes it (pg would send local time). */
const param = (value: unknown) => (value instanceof Date ? value.toISOString() : value);

function sqlOn(queryable: pg.Pool | pg.PoolClient, assertOpen: () => void): Sql {
  return async <T>(text: string, values: readonly unknown[] = []) => {
    assertOpen();
    const result = await queryable.query({ text, values: values.map(param), types });
    return result.rows as T[];
  };
}

/**
 * A statement refused because its transaction already ended (Prisma's timeout rolled it back).
 * Retryable, as Prisma's own "transaction already closed" (P2028): a new attempt opens a new one.
 */
class StoreTransactionClosedError extends Error {
  override readonly name = "StoreTransactionClosedError";
  constructor() {
    super("store: the transaction is already committed or rolled back");
  }
}

/** The `Sql` of a Prisma client or of a transaction `Store.transaction` opened. */
const sqlByDb = new WeakMap<object, Sql>();

/** The `Sql` of a store's client (its pool) or of a transaction the store opened (its connection). */
export function sqlOf(db: object): Sql {
  const sql = sqlByDb.get(db);
  if (!sql) throw new Error("sqlOf: not a store's client nor a transaction Store.transaction opened");
  return sql;
}

export function registerPoolSql(db: object, pool: pg.Pool) {
  sqlByDb.set(
    db,
    sqlOn(pool, () => {}),
  );
}

/** A transaction being opened by `Store.transaction`: the adapter hands its connection here. */
type Opening = { client?: pg.PoolClient; closing: boolean };
const opening = new AsyncLocalStorage<Opening>();

/**
 * Runs Prisma's interactive transaction with `work`, and gives `work`'s transaction client an
 * `Sql` on the transaction's own connection (so its statements are inside the transaction).
 * Once Prisma commits or rolls back (its timeout included) that `Sql` refuses: a statement sent
 * after the ROLLBACK would run on its own, outside any transaction.
 */
export function withTransactionSql<Tx extends object, T>(
  open: (work: (tx: Tx) => Promise<T>) => Promise<T>,
  work: (tx: Tx) => Promise<T>,
): Promise<T> {
  const slot: Opening = { closing: false };
  return opening.run(slot, () =>
    open(async (tx) => {
      const client = slot.client;
      if (!client)
        throw new Error("store: the transaction's connection was not handed over (adapter-pg changed?)");
      sqlByDb.set(
        tx,
        sqlOn(client, () => {
          if (slot.closing) throw new StoreTransactionClosedError();
        }),
      );
      return work(tx);
    }),
  );
}

/**
 * The adapter factory, its transactions handing their pg connection to the `withTransactionSql`
 * that opened them. adapter-pg keeps a transaction's connection as `client` (pinned version; the
 * store tests fail if that changes); Prisma ends a transaction by sending COMMIT or ROLLBACK
 * through it, then `commit()` / `rollback()`.
 */
export function sharingTransactionConnections(factory: PrismaPg): PrismaPg {
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = await connect();
    const start = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel) => {
      const tx = await start(isolationLevel);
      const slot = opening.getStore();
      if (!slot || slot.client) return tx;
      slot.client = (tx as unknown as { client?: pg.PoolClient }).client;
      const close = <F extends (...args: never[]) => unknown>(f: F) =>
        ((...args: Parameters<F>) => {
          slot.closing = true;
          return f(...args);
        }) as F;
      const executeRaw = tx.executeRaw.bind(tx);
      tx.executeRaw = (query) => {
        if (/^\s*(COMMIT|ROLLBACK)\b/i.test(query.sql)) slot.closing = true;
        return executeRaw(query);
      };
      tx.commit = close(tx.commit.bind(tx));
      tx.rollback = close(tx.rollback.bind(tx));
      return tx;
    };
    return adapter;
  };
  return factory;
}
