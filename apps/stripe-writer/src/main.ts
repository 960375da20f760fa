import { closeGracefully } from "@bridge/messaging";
import { createLogger, createMetrics, startOpsServer } from "@bridge/observability";
import { loadConfig } from "./config.ts";
import { startWriterService } from "./wiring.ts";

const config = loadConfig();
const logger = createLogger("stripe-writer", { level: config.LOG_LEVEL });
if (config.WRITER_CRASH_AT) logger.warn({ crashAt: config.WRITER_CRASH_AT }, "TEST-ONLY crash switch is set");
const metrics = createMetrics("stripe-writer");
const service = await startWriterService(config, { logger, metrics });
const ops = await startOpsServer({
  port: config.OPS_PORT,
  host: config.OPS_HOST,
  metrics,
  readiness: service.ready,
});
closeGracefully([{ stop: () => ops.close() }, service], logger);
logger.info({ opsPort: ops.port, topics: service.topics }, "stripe-writer started");
