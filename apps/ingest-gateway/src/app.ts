import { createMetrics } from "@bridge/observability";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import { consolePlugin } from "./console/plugin.ts";
import { type GatewayDeps, type RouteDeps, resolveTopics } from "./deps.ts";
import { authPlugin } from "./plugins/auth.ts";
import { correlationChildLoggerFactory, correlationPlugin } from "./plugins/correlation.ts";
import { errorsPlugin } from "./plugins/errors.ts";
import { kafkaPlugin } from "./plugins/kafka.ts";
import { metricsPlugin } from "./plugins/metrics.ts";
import { swaggerPlugin } from "./plugins/swagger.ts";
import { routes } from "./routes/index.ts";

export type { GatewayDeps } from "./deps.ts";

/** The gateway's Fastify app; routes are registered as plugins so tests can build it without listening. */
export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Every request's log lines carry its correlation id (the one its messages carry).
    childLoggerFactory: correlationChildLoggerFactory,
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const metrics = deps.metrics ?? createMetrics("ingest-gateway", { defaultMetrics: false });
  const routeDeps: RouteDeps = {
    ...deps,
    metrics,
    topics: resolveTopics(deps.topics),
    syncPollIntervalMs: deps.syncPollIntervalMs ?? 50,
    readiness:
      deps.readiness ??
      (async () => ({ kafka: deps.producer.isConnected(), database: await deps.store.ping() })),
  };

  // Graceful close: requests still in flight when close() starts answer with `Connection: close`,
  // so keep-alive clients do not hold the server open until their idle timeout.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });

  await app.register(errorsPlugin, { retryAfterSeconds: deps.config.RETRY_AFTER_SECONDS });
  await app.register(metricsPlugin, { registry: metrics.registry });
  await app.register(correlationPlugin);
  await app.register(authPlugin, { keys: deps.config.API_KEYS });
  await app.register(kafkaPlugin, {
    producer: deps.producer,
    retryAfterSeconds: deps.config.RETRY_AFTER_SECONDS,
  });
  await app.register(swaggerPlugin);
  for (const route of routes) await app.register(route, { deps: routeDeps });
  await app.register(consolePlugin, { deps: routeDeps });
  return app;
}
