import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteDeps } from "../deps.ts";

const readiness = z
  .object({ status: z.enum(["ready", "not_ready"]), checks: z.record(z.string(), z.boolean()) })
  .meta({ examples: [{ status: "ready", checks: { kafka: true, database: true } }] });

/** Liveness, readiness (producer connected, database reachable) and Prometheus metrics. */
export const healthRoutes: FastifyPluginAsyncZod<{ deps: RouteDeps }> = async (app, { deps }) => {
  app.get(
    "/healthz",
    {
      schema: {
        tags: ["operations"],
        summary: "Liveness: the process answers",
        response: { 200: z.object({ status: z.literal("ok") }).meta({ examples: [{ status: "ok" }] }) },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        tags: ["operations"],
        summary: "Readiness: Kafka producer connected and database reachable",
        response: { 200: readiness, 503: readiness },
      },
    },
    async (_request, reply) => {
      const checks = await deps.readiness!();
      const ready = Object.values(checks).every(Boolean);
      return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", checks });
    },
  );

  app.get(
    "/metrics",
    {
      schema: {
        tags: ["operations"],
        summary: "Prometheus metrics",
        description:
          "Requests by route and status, latency histograms, Kafka publish latency, webhook verification " +
          "failures and unknown webhook event types, in the Prometheus text format.",
        produces: ["text/plain"],
        response: {
          200: z
            .string()
            .meta({ examples: ['gateway_http_requests_total{route="/api/order",status="202"} 1'] }),
        },
      },
    },
    async (_request, reply) => {
      const metrics = deps.metrics!;
      return reply.type(metrics.contentType).send(await metrics.render());
    },
  );
};
