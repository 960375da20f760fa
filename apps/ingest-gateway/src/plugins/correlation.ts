import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from "fastify";
import { globalPlugin } from "./global-plugin.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** From `x-correlation-id` when sane, else generated; echoed on the response and put on every message. */
    correlationId: string;
  }
}

const sane = /^[A-Za-z0-9._:-]{1,128}$/;
const assigned = new WeakMap<IncomingMessage, string>();

/** The request's correlation id: its `x-correlation-id` when sane, else one generated once per request. */
export function correlationIdOf(raw: IncomingMessage): string {
  let id = assigned.get(raw);
  if (id === undefined) {
    const given = raw.headers["x-correlation-id"];
    id = typeof given === "string" && sane.test(given) ? given : randomUUID();
    assigned.set(raw, id);
  }
  return id;
}

/**
 * Fastify's per-request logger with the correlation id bound next to the request id, so every
 * line of a request ("incoming request", the route's own lines, "request completed") carries it.
 */
export const correlationChildLoggerFactory: NonNullable<FastifyServerOptions["childLoggerFactory"]> =
  function (this: FastifyInstance, logger, bindings, options, rawRequest): FastifyBaseLogger {
    return logger.child(
      { ...bindings, correlationId: correlationIdOf(rawRequest as IncomingMessage) },
      options,
    );
  };

export const correlationPlugin = globalPlugin(async (app: FastifyInstance) => {
  app.decorateRequest("correlationId", "");
  app.addHook("onRequest", async (request, reply) => {
    request.correlationId = correlationIdOf(request.raw);
    reply.header("x-correlation-id", request.correlationId);
  });
}, "correlation");
