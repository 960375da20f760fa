import type { Logger } from "@bridge/observability";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Call, Emulator, Route } from "../context.ts";
import { isJsonObject, type JsonObject } from "../types.ts";
import { refuseWhileAdvancing } from "./advancing.ts";
import { authenticate } from "./auth.ts";
import { StripeApiError } from "./errors.ts";
import { applyExpand } from "./expand.ts";
import type { FaultInjector } from "./faults.ts";
import { lookupIdempotency, storeIdempotency } from "./idempotency.ts";
import type { RateLimiter } from "./rate-limit.ts";
import {
  asStripeError,
  errorPayload,
  newRequestId,
  pathOf,
  recordRequest,
  send,
  stripeError,
} from "./respond.ts";
import { rejectUnknownParams } from "./unknown-params.ts";
import { API_VERSION } from "./version.ts";

const RATE_LIMIT_MESSAGE =
  "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.";
const LOCK_TIMEOUT_MESSAGE =
  "This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request. If you see this error frequently and are making multiple concurrent requests to a single object, make your requests serially or at a lower rate.";

/**
 * A rate-limit 429 (`code: rate_limit`) carries no `Stripe-Should-Retry: true`: Stripe's client
 * libraries do not retry rate limits by themselves (docs.stripe.com/rate-limits#handling-limiting-gracefully),
 * so the caller's own backoff must. Lock timeouts, by contrast, are safe to retry and say so.
 */
const rateLimited = () =>
  new StripeApiError(429, { type: "invalid_request_error", code: "rate_limit", message: RATE_LIMIT_MESSAGE });
const lockTimeout = () =>
  new StripeApiError(
    429,
    { type: "invalid_request_error", code: "lock_timeout", message: LOCK_TIMEOUT_MESSAGE },
    { "stripe-should-retry": "true" },
  );

/** What every API call goes through, shared by all routes. */
export type Pipeline = {
  emulator: Emulator;
  logger: Logger;
  faults: FaultInjector;
  rateLimiter: RateLimiter;
  /** Ids of objects a write is in progress on (Stripe's per-object lock). */
  locks: Set<string>;
};

type Answer = { status: number; payload: string; replayed?: boolean };

/** Form body (POST, with any query merged in) or query (GET, DELETE), as Stripe reads them. */
function paramsOf(req: FastifyRequest): JsonObject {
  const query = isJsonObject(req.query) ? req.query : {};
  return req.method === "POST" ? { ...(isJsonObject(req.body) ? req.body : {}), ...query } : query;
}

/** Idempotency (POST with a key), parameter validation, the handler, `expand[]`. */
async function runIdempotently(
  p: Pipeline,
  route: Route,
  req: FastifyRequest,
  call: Call,
  requestId: string,
): Promise<Answer> {
  const { state } = p.emulator;
  const key = call.request.idempotency_key;
  let scopeKey: string | null = null;
  if (req.method === "POST" && key) {
    const fingerprint = JSON.stringify([req.method, pathOf(req), call.body]);
    const found = lookupIdempotency(state, call.apiKey, key, fingerprint);
    if (found.kind === "replay") return { status: found.status, payload: found.body, replayed: true };
    scopeKey = found.scopeKey;
  }
  try {
    rejectUnknownParams(req.method, route.path, call.body);
    const result = await route.handler(call);
    const payload = JSON.stringify(applyExpand(p.emulator, state.render(result), call.body.expand), null, 2);
    if (scopeKey) storeIdempotency(state, scopeKey, 200, payload, true);
    return { status: 200, payload };
  } catch (error) {
    if (scopeKey) {
      // Only the handler's own answers are kept: a 409/429/5xx may be retried with the same key.
      const kept =
        error instanceof StripeApiError && error.status !== 429 && error.status !== 409 && error.status < 500;
      storeIdempotency(
        state,
        scopeKey,
        kept ? error.status : 0,
        kept ? errorPayload(error, requestId) : "",
        kept,
      );
    }
    throw error;
  }
}

/** Rate limit, injected faults, the object lock, a clock advancing, then the call itself. */
async function answerCall(
  p: Pipeline,
  route: Route,
  req: FastifyRequest,
  requestId: string,
): Promise<Answer> {
  const apiKey = authenticate(req.headers.authorization, p.emulator.config.apiKeys);
  if (!p.rateLimiter.take(apiKey, `${req.method} ${route.path}`)) throw rateLimited();
  const fault = p.faults.decide(req.method, route.path, pathOf(req));
  const params = (req.params ?? {}) as Record<string, string>;
  const lockKey = req.method !== "GET" && params.id ? params.id : null;
  if (lockKey && p.locks.has(lockKey)) throw lockTimeout();
  if (lockKey) p.locks.add(lockKey);
  try {
    if (fault.delayMs > 0) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault.kind === "error500")
      throw stripeError(500, "api_error", "An unknown error occurred (injected fault).");
    if (fault.kind === "rateLimit429") throw rateLimited();
    const call: Call = {
      emu: p.emulator,
      params,
      body: paramsOf(req),
      request: {
        id: requestId,
        idempotency_key: (req.headers["idempotency-key"] as string | undefined) ?? null,
      },
      apiKey,
    };
    refuseWhileAdvancing(p.emulator, route, call);
    return await runIdempotently(p, route, req, call, requestId);
  } finally {
    if (lockKey) p.locks.delete(lockKey);
  }
}

/** The Fastify handler of one API route: Stripe's headers, the call, its error rendering, the log. */
export function apiHandler(p: Pipeline, route: Route) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const requestId = newRequestId();
    const idempotencyKey = (req.headers["idempotency-key"] as string | undefined) ?? null;
    reply.header("request-id", requestId);
    reply.header("stripe-version", (req.headers["stripe-version"] as string | undefined) ?? API_VERSION);
    let answer: Answer;
    try {
      answer = await answerCall(p, route, req, requestId);
    } catch (error) {
      let apiError = asStripeError(error);
      if (!apiError) {
        p.logger.error({ err: error, path: req.url }, "unhandled error");
        apiError = stripeError(500, "api_error", "An unknown error occurred.");
      }
      for (const [k, v] of Object.entries(apiError.headers)) reply.header(k, v);
      answer = { status: apiError.status, payload: errorPayload(apiError, requestId) };
    }
    if (answer.replayed) reply.header("idempotent-replayed", "true");
    // Never the Authorization header; LOG_LEVEL=debug shows every call, failures at info.
    p.logger[answer.status >= 400 ? "info" : "debug"](
      { method: req.method, path: pathOf(req), status: answer.status, requestId, idempotencyKey },
      "stripe request",
    );
    recordRequest(p.emulator.state, req, {
      route: route.path,
      idempotencyKey,
      status: answer.status,
      requestId,
    });
    return send(reply, answer.status, answer.payload);
  };
}
