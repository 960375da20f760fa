export { createLogger, type Logger, redactPaths } from "./logger.ts";
export { createMetrics, type Metrics } from "./metrics.ts";
