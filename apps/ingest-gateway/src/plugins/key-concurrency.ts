import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { HttpError } from "../http-errors.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** Requests of the API key named `keyName` in flight now (tests read it). */
    keyRequestsInFlight(keyName: string): number;
  }
}

export type KeyConcurrencyOptions = {
  /** MAX_CONCURRENT_REQUESTS_PER_KEY */
  maxPerKey: number;
  /** MAX_CONNECTIONS minus WEBHOOK_RESERVED_CONNECTIONS: beyond it, no request with a key is taken. */
  maxApiConnections: number;
  retryAfterSeconds: number;
};

/**
 * At most `maxPerKey` requests of one API key in flight at once (decision 013, 2026-12-03): a
 * `process_immediately` order holds its connection up to WAIT_TIMEOUT_MS, and the per-minute rate
 * limit alone let one key hold every connection. Neither Fastify nor its plugins count requests
 * in flight per key (@fastify/rate-limit counts per time window), hence this hook.
 *
 * And no request with an API key is taken while more than `maxApiConnections` connections are
 * open: it is refused and its connection closed, so API clients cannot hold the last
 * WEBHOOK_RESERVED_CONNECTIONS, which Stripe's webhooks (unauthenticated) then always find.
 */
export const keyConcurrencyPlugin = fp(
  async (app: FastifyInstance, options: KeyConcurrencyOptions) => {
    const inFlight = new Map<string, number>();
    app.decorate("keyRequestsInFlight", (keyName: string) => inFlight.get(keyName) ?? 0);
    // Node emits `connection` only for the connections it accepted (not those over maxConnections).
    let openConnections = 0;
    app.server.on("connection", (socket: Socket) => {
      openConnections++;
      socket.once("close", () => {
        openConnections--;
      });
    });
    const refusal = (key: string, status: number, code: string, message: string) => {
      app.gatewayMetrics.requestsRefused.inc({ code, api_key: key });
      // Closing the refused request's connection frees its slot at once.
      return new HttpError(status, code, message, {
        headers: { "retry-after": String(options.retryAfterSeconds), connection: "close" },
      });
    };

    // preParsing runs after the routes' onRequest hooks (authentication) and before the body is read.
    app.addHook("preParsing", async (request, reply) => {
      const key = request.apiKeyName;
      if (!key) return; // the webhook and health routes have no key
      const held = inFlight.get(key) ?? 0;
      if (held >= options.maxPerKey) {
        throw refusal(
          key,
          429,
          "too_many_concurrent_requests",
          `at most ${options.maxPerKey} requests at once for this API key; retry when one has been answered`,
        );
      }
      if (openConnections > options.maxApiConnections) {
        throw refusal(
          key,
          503,
          "too_many_connections",
          "the gateway's connections for API clients are all taken; retry later",
        );
      }
      inFlight.set(key, held + 1);
      // The response's `close` comes once it was sent, or once the client went away: either way
      // the slot is given back exactly once, whatever the handler did (error, timeout, abort).
      reply.raw.once("close", () => {
        const left = (inFlight.get(key) ?? 1) - 1;
        if (left > 0) inFlight.set(key, left);
        else inFlight.delete(key);
      });
    });
  },
  { name: "key-concurrency", dependencies: ["auth", "metrics"] },
);
