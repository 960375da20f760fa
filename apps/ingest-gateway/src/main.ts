import { createLogger } from "@bridge/observability";
import { loadConfig } from "./config.ts";
import { startGateway } from "./server.ts";

const config = loadConfig();
const logger = createLogger("ingest-gateway", { level: config.LOG_LEVEL });
const gateway = await startGateway(config, { logger });

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, async () => {
    logger.info({ signal }, "shutting down: no new requests, finishing in-flight ones");
    const forceExit = setTimeout(() => {
      logger.error("in-flight requests did not finish within SHUTDOWN_GRACE_MS; exiting");
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS);
    forceExit.unref();
    try {
      await gateway.shutdown();
      logger.info("stopped");
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, "shutdown failed");
      process.exit(1);
    }
  });
}
