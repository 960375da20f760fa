import { readFileSync } from "node:fs";
import { createKafkaClient, retryTopicOf } from "@bridge/messaging";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { RouteDeps } from "../deps.ts";
import { HttpError } from "../http-errors.ts";
import type { ConsoleDeps } from "./deps.ts";
import { dlqRoutes } from "./routes/dlq.ts";
import { healthRoutes } from "./routes/health.ts";
import { orderRoutes } from "./routes/orders.ts";
import { sessionRoutes } from "./routes/session.ts";
import { subscriptionRoutes } from "./routes/subscriptions.ts";
import { cookieValue, createConsoleSessions, SESSION_COOKIE } from "./session.ts";

/** The page's own files: one HTML page, its script and its style sheet (no framework, no build). */
const assets: Record<string, { file: string; type: string }> = {
  "/console": { file: "index.html", type: "text/html; charset=utf-8" },
  "/console/assets/console.js": { file: "console.js", type: "text/javascript; charset=utf-8" },
  "/console/assets/console.css": { file: "console.css", type: "text/css; charset=utf-8" },
};

/** Nothing but the console's own files may load or run; no other site may frame it. */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** A state-changing request with the session cookie must carry this header (a cross-site form cannot). */
const ACTION_HEADER = "x-bridge-console";

const consoleRoutes = [sessionRoutes, orderRoutes, subscriptionRoutes, dlqRoutes, healthRoutes];

/**
 * The operator console (docs/console.md): a static page at /console over JSON routes under
 * /console/api, for API keys with the `ops` scope. Its Kafka client connects only when a DLQ or
 * lag view asks, so a gateway whose keys have no `ops` scope pays nothing for it.
 */
export const consolePlugin: FastifyPluginAsyncZod<{ deps: RouteDeps }> = async (app, { deps }) => {
  const sessions = createConsoleSessions(deps.config.API_KEYS);
  const requireOps = app.requireScope("ops");
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    const operator = sessions.verify(cookieValue(request.headers.cookie, SESSION_COOKIE));
    if (!operator) return requireOps(request, reply);
    if (request.method !== "GET" && request.headers[ACTION_HEADER] !== "1") {
      throw new HttpError(403, "forbidden", `console actions need the ${ACTION_HEADER}: 1 header`);
    }
    request.apiKeyName = operator;
  };
  const { topics } = deps;
  const consoleDeps: ConsoleDeps = {
    ...deps,
    sessions,
    authenticate,
    kafka: createKafkaClient({
      brokers: deps.config.KAFKA_BROKERS,
      clientId: "ingest-gateway-console",
      logger: deps.logger,
    }),
    groups: {
      [deps.config.WRITER_GROUP_ID]: [topics.orders, topics.stripeEvents].flatMap((t) => [
        t,
        retryTopicOf(t),
      ]),
      [deps.config.SYNC_GROUP_ID]: [topics.stripeEvents, topics.sync, topics.orderOutcomes].flatMap((t) => [
        t,
        retryTopicOf(t),
      ]),
    },
  };

  for (const [url, asset] of Object.entries(assets)) {
    const body = readFileSync(new URL(`./page/${asset.file}`, import.meta.url));
    app.get(url, { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type(asset.type)
        .header("content-security-policy", CONTENT_SECURITY_POLICY)
        .header("x-content-type-options", "nosniff")
        .header("cache-control", "no-cache")
        .send(body),
    );
  }
  for (const routes of consoleRoutes) await app.register(routes, { deps: consoleDeps });
};
