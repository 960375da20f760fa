import type { Logger } from "@bridge/observability";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { GatewayConfig } from "./config.ts";

export type GatewayDeps = {
  config: GatewayConfig;
  logger: Logger;
  /** Named dependency checks for /readyz (producer connected, database reachable). */
  readiness: () => Promise<Record<string, boolean>>;
};

/** The gateway's Fastify app; routes are registered as plugins so tests can build it without listening. */
export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
  });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const checks = await deps.readiness();
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", checks });
  });
  return app;
}
