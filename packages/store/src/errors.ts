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
  /ECONNREFUSED|Connection terminated|connection terminated|Can't reach database|timeout exceeded when trying to connect|the database system is (starting up|shutting down)/;

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
