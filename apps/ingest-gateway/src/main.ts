import { createLogger } from "@bridge/observability";
import closeWithGrace from "close-with-grace";
import { loadConfig } from "./config.ts";
import { startGateway } from "./server.ts";

const config = loadConfig();
const logger = createLogger("ingest-gateway", { level: config.LOG_LEVEL });
const gateway = await startGateway(config, { logger });

// SIGTERM/SIGINT (or an uncaught error): no new requests, in-flight ones finish, then exit 0;
// past SHUTDOWN_GRACE_MS, or on a second signal, exit 1.
closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS, logger }, async ({ signal, err }) => {
  if (err) logger.error({ err }, "uncaught error: shutting down");
  else logger.info({ signal }, "shutting down: no new requests, finishing in-flight ones");
  await gateway.shutdown();
  logger.info("stopped");
});
