export { censorSecrets, createLogger, type Logger, requestForLog } from "./logger.ts";
export { createMetrics, type Metrics } from "./metrics.ts";
export { type OpsServer, type ReadinessCheck, startOpsServer } from "./ops-server.ts";
