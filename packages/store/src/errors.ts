/** Connection-level failures: the database is down, restarting or unreachable, not the query wrong. */
const unavailableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up)
  "57014", // query_canceled: the statement_timeout of a store that answers too slowly
  "08000",
  "08001",
  "08003",
  "08006", // connection_failure
  "P1001", // Prisma: can't reach database server
  "P1002",
  "P1017", // Prisma: server closed the connection
  "P2024", // Prisma: timed out fetching a connection from the pool
]);
const unavailableMessages =
  /ECONNREFUSED|Connection terminated|connection terminated|Can't reach database|timeout exceeded when trying to connect|canceling statement due to statement timeout|the database system is (starting up|shutting down)/;

/**
 * Is this error the store being unavailable (retry later) rather than a bad query (a bug)?
 * Follows `cause` chains: Prisma wraps the driver adapter's error, which wraps pg's.
 */
export function isStoreUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 6; depth += 1) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === "string" && unavailableCodes.has(code)) return true;
    if (typeof message === "string" && unavailableMessages.test(message)) return true;
    e = cause;
  }
  return false;
}

/** What a store failure means for a message (the same words as @bridge/errors' ErrorClass). */
export type StoreErrorClass = "retryable" | "permanent" | "fatal";

/** The SQLSTATE, Prisma code and driver-adapter kind of an error, through its wrappers. */
function storeCodes(error: unknown): {
  sqlState?: string;
  prismaCode?: string;
  kind?: string;
  name?: string;
} {
  const found: { sqlState?: string; prismaCode?: string; kind?: string; name?: string } = {};
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 6; depth += 1) {
    const x = e as {
      name?: unknown;
      code?: unknown;
      originalCode?: unknown;
      kind?: unknown;
      meta?: { driverAdapterError?: { cause?: unknown } };
      cause?: unknown;
    };
    if (depth === 0 && typeof x.name === "string") found.name = x.name;
    if (typeof x.code === "string" && /^P\d{4}$/.test(x.code)) found.prismaCode ??= x.code;
    for (const code of [x.originalCode, x.code])
      if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith("P"))
        found.sqlState ??= code;
    if (typeof x.kind === "string" && x.kind !== "postgres") found.kind ??= x.kind;
    e = x.meta?.driverAdapterError?.cause ?? x.cause;
  }
  return found;
}

// Postgres SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html) and Prisma
// codes (https://www.prisma.io/docs/orm/reference/error-reference) by what they mean for a message.
/** The configuration or the schema is wrong: no message can succeed until an operator acts. */
const fatalSqlStates = /^(28|3D|42P01|42703|42501)/; // auth, missing database, table, column, privilege
const fatalPrismaCodes = new Set(["P1000", "P1003", "P1010", "P2021", "P2022"]);
/** The value itself cannot be stored: retrying the same message can never succeed. */
const permanentSqlStates = /^(22|23502|23514)/; // data exception (NUL, bad UTF-8, out of range…), not-null, check
const permanentPrismaCodes = new Set([
  "P2000", // value too long for its column
  "P2005", // invalid value for the field's type
  "P2006", // invalid value
  "P2007", // data validation error
  "P2011", // null constraint
  "P2012", // missing required value
  "P2019", // input error
  "P2020", // value out of range
  "P2023", // inconsistent column data
  "P2033", // number does not fit in 64 bits
]);
/** Contention and capacity: the same message succeeds once the other transaction or the load is gone. */
const retryableSqlStates = /^(40|53|55P03|57|58|08)/; // serialization, deadlock, resources, lock, shutdown, I/O, connection
const retryablePrismaCodes = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2034"]);

/**
 * The class of a store (Prisma / Postgres) failure for the Kafka runtime (docs/decisions/003 and
 * 024): undefined for anything that is not a store failure. Unique and foreign-key violations and
 * "record not found" are retryable: in an at-least-once system they are races with another
 * delivery or another consumer that a later attempt sees settled.
 */
export function storeErrorClass(error: unknown): StoreErrorClass | undefined {
  if (isStoreUnavailable(error)) return "retryable";
  const { sqlState, prismaCode, kind, name } = storeCodes(error);
  if (sqlState && fatalSqlStates.test(sqlState)) return "fatal";
  if (prismaCode && fatalPrismaCodes.has(prismaCode)) return "fatal";
  if (sqlState && permanentSqlStates.test(sqlState)) return "permanent";
  if (prismaCode && permanentPrismaCodes.has(prismaCode)) return "permanent";
  if (sqlState && retryableSqlStates.test(sqlState)) return "retryable";
  if (prismaCode && retryablePrismaCodes.has(prismaCode)) return "retryable";
  if (kind === "TransactionWriteConflict" || kind === "TooManyConnections") return "retryable";
  // The query could not even be built from the message's values (an invalid date, text JSON cannot carry).
  if (name === "PrismaClientValidationError") return "permanent";
  if (name === "PrismaClientUnknownRequestError" && /JSON Error/.test(String((error as Error).message)))
    return "permanent";
  if (name === "PrismaClientInitializationError") return "retryable";
  if (name === "StoreTransactionClosedError") return "retryable"; // transaction-sql.ts
  if (sqlState || prismaCode || name?.startsWith("PrismaClient") || name === "DriverAdapterError")
    return "retryable";
  return undefined;
}

/**
 * A short reason for a store failure, fit for an order's outcome: the database's own message and
 * SQLSTATE (Prisma's message quotes the calling code, which is noise to a shop).
 */
export function storeErrorReason(error: unknown): string {
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 6; depth += 1) {
    const x = e as {
      originalMessage?: unknown;
      originalCode?: unknown;
      meta?: { driverAdapterError?: { cause?: unknown } };
      cause?: unknown;
    };
    if (typeof x.originalMessage === "string")
      return `${x.originalMessage}${typeof x.originalCode === "string" ? ` (${x.originalCode})` : ""}`;
    e = x.meta?.driverAdapterError?.cause ?? x.cause;
  }
  const message = String((error as Error)?.message ?? error).trim();
  return message.split("\n").filter(Boolean).at(-1)?.slice(0, 300) ?? "the store refused the data";
}
