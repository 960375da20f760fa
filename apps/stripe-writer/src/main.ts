import { createLogger, createMetrics, startOpsServer } from "@bridge/observability";
import { createStore } from "@bridge/store";
import { loadConfig } from "./config.ts";

const config = loadConfig();
const logger = createLogger("stripe-writer", { level: config.LOG_LEVEL });
const metrics = createMetrics("stripe-writer");
const store = createStore(config.DATABASE_URL);
const ops = await startOpsServer({
  port: config.OPS_PORT,
  metrics,
  readiness: async () => ({ database: await store.ping() }),
});
logger.info({ opsPort: ops.port }, "stripe-writer started");

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, async () => {
    logger.info({ signal }, "shutting down");
    await ops.close();
    await store.close();
    process.exit(0);
  });
}
