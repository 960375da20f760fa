import { createMetrics } from "@bridge/observability";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import type { GatewayConfig } from "./config.ts";
import { consolePlugin } from "./console/plugin.ts";
import { type GatewayDeps, type RouteDeps, resolveTopics } from "./deps.ts";
import { HttpError } from "./http-errors.ts";
import type { InputLimits } from "./input-limits.ts";
import { authPlugin } from "./plugins/auth.ts";
import { correlationIdOptions, correlationPlugin } from "./plugins/correlation.ts";
import { errorsPlugin } from "./plugins/errors.ts";
import { inputLimitsPlugin } from "./plugins/input-limits.ts";
import { kafkaPlugin } from "./plugins/kafka.ts";
import { keyConcurrencyPlugin } from "./plugins/key-concurrency.ts";
import { metricsPlugin } from "./plugins/metrics.ts";
import { swaggerPlugin } from "./plugins/swagger.ts";
import { routes } from "./routes/index.ts";
import { rewriteOrderAlias } from "./routes/orders/alias.ts";

export type { GatewayDeps } from "./deps.ts";

const inputLimitsOf = (config: GatewayConfig): InputLimits => ({
  maxDepth: config.MAX_JSON_DEPTH,
  maxStringLength: config.MAX_STRING_LENGTH,
  maxArrayItems: config.MAX_ARRAY_ITEMS,
  maxFields: config.MAX_FIELDS,
  maxOrderItems: config.MAX_ORDER_ITEMS,
  maxQuantity: config.MAX_QUANTITY,
  maxAmount: config.MAX_AMOUNT,
});

/** The gateway's Fastify app; routes are registered as plugins so tests can build it without listening. */
export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    ...correlationIdOptions,
    bodyLimit: config.BODY_LIMIT_BYTES,
    return503OnClosing: true,
    rewriteUrl: (request) => rewriteOrderAlias(request.url ?? "/"),
    // Slow or idle clients cannot hold connections (and their buffers) open: see decision 013.
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: config.SOCKET_TIMEOUT_MS,
    http: {
      headersTimeout: config.HEADERS_TIMEOUT_MS,
      // How often Node checks the two timeouts above (default 30 s): a fraction of the shorter one.
      connectionsCheckingInterval: Math.max(
        250,
        Math.min(config.HEADERS_TIMEOUT_MS, config.REQUEST_TIMEOUT_MS) / 4,
      ),
    },
  });
  app.server.maxConnections = config.MAX_CONNECTIONS;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  const metrics = deps.metrics ?? createMetrics("ingest-gateway", { defaultMetrics: false });
  const routeDeps: RouteDeps = {
    ...deps,
    metrics,
    topics: resolveTopics(deps.topics),
    syncPollIntervalMs: deps.syncPollIntervalMs ?? 50,
    inputLimits: inputLimitsOf(config),
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

  await app.register(errorsPlugin, { retryAfterSeconds: config.RETRY_AFTER_SECONDS });
  await app.register(metricsPlugin, { registry: metrics.registry });
  await app.register(correlationPlugin);
  await app.register(authPlugin, { keys: config.API_KEYS });
  await app.register(keyConcurrencyPlugin, {
    maxPerKey: config.MAX_CONCURRENT_REQUESTS_PER_KEY,
    maxApiConnections: config.MAX_CONNECTIONS - config.WEBHOOK_RESERVED_CONNECTIONS,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
  });
  // Per API key (routes opt in with `config.rateLimit`); checked after auth, before the body is read.
  await app.register(rateLimit, {
    global: false,
    hook: "preParsing",
    keyGenerator: (request) => request.apiKeyName || request.ip,
    errorResponseBuilder: (_request, context) =>
      new HttpError(
        429,
        "rate_limited",
        `at most ${context.max} requests per ${context.after} for this API key`,
      ),
  });
  await app.register(inputLimitsPlugin, { limits: routeDeps.inputLimits });
  await app.register(kafkaPlugin, {
    producer: deps.producer,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    maxMessageBytes: config.KAFKA_MAX_MESSAGE_BYTES,
  });
  await app.register(swaggerPlugin);
  for (const route of routes) await app.register(route, { deps: routeDeps });
  await app.register(consolePlugin, { deps: routeDeps });
  return app;
}
