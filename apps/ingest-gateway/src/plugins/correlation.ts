import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { globalPlugin } from "./global-plugin.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** From `x-correlation-id` when sane, else generated; echoed on the response and put on every message. */
    correlationId: string;
  }
}

const sane = /^[A-Za-z0-9._:-]{1,128}$/;

export const correlationPlugin = globalPlugin(async (app: FastifyInstance) => {
  app.decorateRequest("correlationId", "");
  app.addHook("onRequest", async (request, reply) => {
    const given = request.headers["x-correlation-id"];
    request.correlationId = typeof given === "string" && sane.test(given) ? given : randomUUID();
    reply.header("x-correlation-id", request.correlationId);
  });
}, "correlation");
