import { hostname } from "node:os";
import { bridgeTopicSpecs, createKafkaClient, createProducer, ensureTopics, topics } from "@bridge/messaging";
import { createLogger, createMetrics } from "@bridge/observability";
import { createStore } from "@bridge/store";
import { buildGateway } from "./app.ts";
import { loadConfig } from "./config.ts";
import { startOutcomeWaiter } from "./outcome-waiter.ts";

const config = loadConfig();
const logger = createLogger("ingest-gateway", { level: config.LOG_LEVEL });
const metrics = createMetrics("ingest-gateway");
const kafka = createKafkaClient({
  brokers: config.KAFKA_BROKERS,
  clientId: `ingest-gateway-${hostname()}`,
  logger,
});
await ensureTopics(kafka, bridgeTopicSpecs({ partitions: config.KAFKA_TOPIC_PARTITIONS }));
const producer = createProducer(kafka, {
  publishTimeoutMs: config.KAFKA_PUBLISH_TIMEOUT_MS,
  registry: metrics.registry,
});
await producer.connect();
const store = createStore(config.DATABASE_URL);
const outcomes = await startOutcomeWaiter(kafka, { topic: topics.orderOutcomes, logger });
const app = await buildGateway({ config, logger, producer, store, outcomes, metrics });

await app.listen({ port: config.PORT, host: config.HOST });

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, async () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down: no new requests, finishing in-flight ones");
    const forceExit = setTimeout(() => {
      logger.error("in-flight requests did not finish within SHUTDOWN_GRACE_MS; exiting");
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS);
    forceExit.unref();
    try {
      // Stops listening and waits for in-flight requests (each bounded by the publish timeout and
      // WAIT_TIMEOUT_MS); requests arriving meanwhile get 503 (return503OnClosing).
      await app.close();
      await outcomes.stop();
      await producer.disconnect();
      await store.close();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, "shutdown failed");
      process.exit(1);
    }
  });
}
