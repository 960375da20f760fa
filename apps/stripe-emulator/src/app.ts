import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createLogger } from "@bridge/observability";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import type { EmulatorConfig } from "./config.ts";
import type { Call, Emulator, Route } from "./context.ts";
import { createEvent } from "./events/events.ts";
import { WebhookDispatcher } from "./events/webhooks.ts";
import { authenticate } from "./http/auth.ts";
import { StripeApiError } from "./http/errors.ts";
import { applyExpand } from "./http/expand.ts";
import { FaultInjector } from "./http/faults.ts";
import { parseForm } from "./http/form.ts";
import { lookupIdempotency, storeIdempotency } from "./http/idempotency.ts";
import { RateLimiter } from "./http/rate-limit.ts";
import { rejectUnknownParams } from "./http/unknown-params.ts";
import { API_VERSION } from "./http/version.ts";
import { resources } from "./resources/index.ts";
import { authenticatePaymentIntentByCustomer } from "./resources/payment_intents.ts";
import { authenticateSetupIntentByCustomer } from "./resources/setup_intents.ts";
import { createWebhookEndpoint } from "./resources/webhook_endpoints.ts";
import { State } from "./state.ts";
import type { StripeObject } from "./types.ts";

export type EmulatorHandle = {
  app: FastifyInstance;
  emulator: Emulator;
  state: State;
  faults: FaultInjector;
  rateLimiter: RateLimiter;
  /** Write the snapshot file (when configured). */
  saveSnapshot(): void;
};

function stripeError(
  status: number,
  type: StripeApiError["body"]["type"],
  message: string,
  code?: string,
): StripeApiError {
  return new StripeApiError(status, { type, message, ...(code ? { code } : {}) });
}

const RATE_LIMIT_MESSAGE =
  "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.";
/**
 * A rate-limit 429 (`code: rate_limit`) carries no `Stripe-Should-Retry: true`: Stripe's client
 * libraries do not retry rate limits by themselves (docs.stripe.com/rate-limits#handling-limiting-gracefully),
 * so the caller's own backoff must. Lock timeouts, by contrast, are safe to retry and say so.
 */
const rateLimited = () =>
  new StripeApiError(429, { type: "invalid_request_error", code: "rate_limit", message: RATE_LIMIT_MESSAGE });
const LOCK_TIMEOUT_MESSAGE =
  "This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request. If you see this error frequently and are making multiple concurrent requests to a single object, make your requests serially or at a lower rate.";

/** Build the emulator: a Fastify app speaking the Stripe API subset, plus its state handle. */
export function buildEmulator(config: EmulatorConfig): EmulatorHandle {
  const logger = createLogger("stripe-emulator", { level: config.logLevel });
  const state = new State(config.seed);
  const webhooks = new WebhookDispatcher({
    ...config.webhookDelivery,
    logger,
    onDelivered: (eventId) => {
      const event = state.get("event", eventId);
      if (event && event.pending_webhooks > 0) event.pending_webhooks -= 1;
    },
  });
  const emulator: Emulator = {
    state,
    config,
    logger,
    webhooks,
    emit: (type, obj, options) => createEvent(emulator, type, obj, options),
  };
  const faults = new FaultInjector();
  const rateLimiter = new RateLimiter(config.rateLimitPerSecond, config.endpointRateLimitPerSecond);
  const locks = new Set<string>();

  const seedWebhook = () => {
    if (config.webhook) {
      createWebhookEndpoint(state, {
        url: config.webhook.url,
        enabledEvents: ["*"],
        secret: config.webhook.secret,
        description: "preconfigured (env)",
      });
    }
  };
  if (config.snapshotPath && existsSync(config.snapshotPath)) {
    state.load(JSON.parse(readFileSync(config.snapshotPath, "utf8")));
    logger.info({ path: config.snapshotPath }, "loaded snapshot");
  } else {
    seedWebhook();
  }

  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    routerOptions: { querystringParser: (s: string) => parseForm(s) },
  });
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, parseForm(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  const send = (reply: FastifyReply, status: number, payload: string) =>
    reply.code(status).header("content-type", "application/json").send(payload);

  const errorPayload = (error: StripeApiError, requestId: string) =>
    JSON.stringify(
      { error: { ...error.body, request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}` } },
      null,
      2,
    );

  const logRequest = (
    req: FastifyRequest,
    route: string | null,
    idempotencyKey: string | null,
    status: number,
    requestId: string,
  ) => {
    // Never the Authorization header; LOG_LEVEL=debug shows every call, failures at info.
    logger[status >= 400 ? "info" : "debug"](
      { method: req.method, path: req.url.split("?")[0], status, requestId, idempotencyKey },
      "stripe request",
    );
    state.requestLog.push({
      requestId,
      method: req.method,
      path: req.url.split("?")[0]!,
      route,
      idempotencyKey,
      status,
      at: new Date().toISOString(),
    });
  };

  const handle = (route: Route) => async (req: FastifyRequest, reply: FastifyReply) => {
    const requestId = `req_${randomBytes(10).toString("hex").slice(0, 14)}`;
    reply.header("request-id", requestId);
    reply.header("stripe-version", (req.headers["stripe-version"] as string | undefined) ?? API_VERSION);
    const idempotencyKey = (req.headers["idempotency-key"] as string | undefined) ?? null;
    const body: StripeObject =
      req.method === "POST"
        ? { ...((req.body as StripeObject) ?? {}), ...((req.query as StripeObject) ?? {}) }
        : ((req.query as StripeObject) ?? {});
    const params = (req.params ?? {}) as Record<string, string>;
    let status = 200;
    let payload: string;
    try {
      const apiKey = authenticate(req.headers.authorization, config.apiKeys);
      if (!rateLimiter.take(apiKey, `${req.method} ${route.path}`)) throw rateLimited();
      const fault = faults.decide(req.method, route.path, req.url.split("?")[0]!);
      const lockKey = req.method !== "GET" && params.id ? params.id : null;
      if (lockKey && locks.has(lockKey)) {
        throw new StripeApiError(
          429,
          { type: "invalid_request_error", code: "lock_timeout", message: LOCK_TIMEOUT_MESSAGE },
          { "stripe-should-retry": "true" },
        );
      }
      if (lockKey) locks.add(lockKey);
      try {
        if (fault.delayMs > 0) await new Promise((r) => setTimeout(r, fault.delayMs));
        if (fault.kind === "error500")
          throw stripeError(500, "api_error", "An unknown error occurred (injected fault).");
        if (fault.kind === "rateLimit429") throw rateLimited();
        let scopeKey: string | null = null;
        if (req.method === "POST" && idempotencyKey) {
          const fingerprint = JSON.stringify([req.method, req.url.split("?")[0], body]);
          const found = lookupIdempotency(state, apiKey, idempotencyKey, fingerprint);
          if (found.kind === "replay") {
            reply.header("idempotent-replayed", "true");
            logRequest(req, route.path, idempotencyKey, found.status, requestId);
            return send(reply, found.status, found.body);
          }
          scopeKey = found.scopeKey;
        }
        rejectUnknownParams(req.method, route.path, body);
        const call: Call = {
          emu: emulator,
          params,
          body,
          request: { id: requestId, idempotency_key: idempotencyKey },
          apiKey,
        };
        try {
          const result = await route.handler(call);
          const rendered = applyExpand(emulator, state.render(result), body.expand);
          payload = JSON.stringify(rendered, null, 2);
          if (scopeKey) storeIdempotency(state, scopeKey, 200, payload, true);
        } catch (error) {
          if (scopeKey) {
            const keep =
              error instanceof StripeApiError &&
              error.status !== 429 &&
              error.status !== 409 &&
              error.status < 500;
            storeIdempotency(
              state,
              scopeKey,
              keep ? (error as StripeApiError).status : 0,
              keep ? errorPayload(error as StripeApiError, requestId) : "",
              keep,
            );
          }
          throw error;
        }
      } finally {
        if (lockKey) locks.delete(lockKey);
      }
    } catch (error) {
      let apiError: StripeApiError;
      if (error instanceof StripeApiError) apiError = error;
      else if (error && typeof error === "object" && "issues" in error) {
        apiError = stripeError(400, "invalid_request_error", String((error as unknown as Error).message));
      } else {
        logger.error({ err: error, path: req.url }, "unhandled error");
        apiError = stripeError(500, "api_error", "An unknown error occurred.");
      }
      status = apiError.status;
      for (const [k, v] of Object.entries(apiError.headers)) reply.header(k, v);
      payload = errorPayload(apiError, requestId);
    }
    logRequest(req, route.path, idempotencyKey, status, requestId);
    return send(reply, status, payload);
  };

  for (const routes of Object.values(resources)) {
    for (const route of routes) app.route({ method: route.method, url: route.path, handler: handle(route) });
  }

  app.setNotFoundHandler((req, reply) => {
    const requestId = `req_${randomBytes(10).toString("hex").slice(0, 14)}`;
    reply.header("request-id", requestId);
    let error: StripeApiError;
    try {
      authenticate(req.headers.authorization, config.apiKeys);
      error = new StripeApiError(404, {
        type: "invalid_request_error",
        message: `Unrecognized request URL (${req.method}: ${req.url.split("?")[0]}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      });
    } catch (e) {
      error = e as StripeApiError;
    }
    logRequest(
      req,
      null,
      (req.headers["idempotency-key"] as string | undefined) ?? null,
      error.status,
      requestId,
    );
    return send(reply, error.status, errorPayload(error, requestId));
  });

  app.setErrorHandler((error, req, reply) => {
    const requestId = `req_${randomBytes(10).toString("hex").slice(0, 14)}`;
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    const apiError =
      status < 500
        ? stripeError(400, "invalid_request_error", `Invalid request: ${(error as Error).message}`)
        : stripeError(500, "api_error", "An unknown error occurred.");
    if (status >= 500) logger.error({ err: error, path: req.url }, "request failed");
    return send(reply, apiError.status, errorPayload(apiError, requestId));
  });

  const saveSnapshot = () => {
    if (!config.snapshotPath) return;
    writeFileSync(config.snapshotPath, JSON.stringify(state.snapshot()));
  };

  // Control routes (Stripe never uses /_emulator/).
  app.get("/_emulator/health", async () => ({ status: "ok" }));
  app.post("/_emulator/reset", async () => {
    await webhooks.flush();
    state.reset();
    webhooks.clear();
    faults.clear();
    rateLimiter.reset();
    seedWebhook();
    return { ok: true };
  });
  app.get("/_emulator/state", async () => state.snapshot());
  app.put("/_emulator/faults", async (req) => {
    faults.configure(req.body);
    return faults.describe();
  });
  app.get("/_emulator/faults", async () => faults.describe());
  app.get("/_emulator/requests", async () => ({ data: state.requestLog }));
  app.delete("/_emulator/requests", async () => {
    state.requestLog.length = 0;
    return { ok: true };
  });
  app.post("/_emulator/webhooks/flush", async () => {
    await webhooks.flush();
    return { deliveries: webhooks.deliveries };
  });
  app.get("/_emulator/webhooks/deliveries", async () => ({ data: webhooks.deliveries }));
  app.put("/_emulator/settings", async (req) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.rateLimitPerSecond === "number") rateLimiter.perSecond = b.rateLimitPerSecond;
    if (typeof b.endpointRateLimitPerSecond === "number")
      rateLimiter.perEndpointPerSecond = b.endpointRateLimitPerSecond;
    if (typeof b.webhookBackoffMs === "number") {
      webhooks.setBackoff(
        b.webhookBackoffMs,
        typeof b.webhookMaxAttempts === "number" ? b.webhookMaxAttempts : undefined,
      );
    }
    if (typeof b.dunningRetries === "number") config.dunning.retries = b.dunningRetries;
    if (typeof b.dunningIntervalSeconds === "number")
      config.dunning.intervalSeconds = b.dunningIntervalSeconds;
    if (
      b.dunningFinalStatus === "canceled" ||
      b.dunningFinalStatus === "unpaid" ||
      b.dunningFinalStatus === "past_due"
    ) {
      config.dunning.finalStatus = b.dunningFinalStatus;
    }
    return {
      rateLimitPerSecond: rateLimiter.perSecond,
      endpointRateLimitPerSecond: rateLimiter.perEndpointPerSecond,
      dunning: config.dunning,
    };
  });
  // Stripe's 3-D Secure test page, played by the test: complete or fail the authentication.
  const authenticateBody = z.object({ outcome: z.enum(["succeed", "fail"]) });
  const authenticateRoute =
    (authenticate: (emu: Emulator, id: string, outcome: "succeed" | "fail") => StripeObject) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const requestId = `req_${randomBytes(10).toString("hex").slice(0, 14)}`;
      const parsed = authenticateBody.safeParse(req.body ?? {});
      if (!parsed.success) {
        const error = stripeError(400, "invalid_request_error", 'Body must be {"outcome":"succeed"|"fail"}.');
        return send(reply, 400, errorPayload(error, requestId));
      }
      try {
        const { id } = req.params as { id: string };
        return send(reply, 200, JSON.stringify(authenticate(emulator, id, parsed.data.outcome), null, 2));
      } catch (error) {
        if (!(error instanceof StripeApiError)) throw error;
        return send(reply, error.status, errorPayload(error, requestId));
      }
    };
  app.post(
    "/_emulator/payment_intents/:id/authenticate",
    authenticateRoute(authenticatePaymentIntentByCustomer),
  );
  app.post("/_emulator/setup_intents/:id/authenticate", authenticateRoute(authenticateSetupIntentByCustomer));
  app.post("/_emulator/snapshot", async () => {
    saveSnapshot();
    return { path: config.snapshotPath ?? null };
  });

  app.addHook("onClose", async () => {
    webhooks.stop();
    saveSnapshot();
  });

  return { app, emulator, state, faults, rateLimiter, saveSnapshot };
}
