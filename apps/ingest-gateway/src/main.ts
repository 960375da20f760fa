import { createLogger } from "@bridge/observability";
import { createStore } from "@bridge/store";
import { buildGateway } from "./app.ts";
import { loadConfig } from "./config.ts";

const config = loadConfig();
const logger = createLogger("ingest-gateway", { level: config.LOG_LEVEL });
const store = createStore(config.DATABASE_URL);
const app = await buildGateway({ config, logger, readiness: async () => ({ database: await store.ping() }) });

await app.listen({ port: config.PORT, host: config.HOST });

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, async () => {
    logger.info({ signal }, "shutting down");
    await app.close();
    await store.close();
    process.exit(0);
  });
}
