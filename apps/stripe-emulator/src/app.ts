import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createLogger, type Logger } from "@bridge/observability";
import Fastify, { type FastifyInstance } from "fastify";
import type { EmulatorConfig } from "./config.ts";
import type { Emulator } from "./context.ts";
import { registerControlRoutes } from "./control.ts";
import { createEvent } from "./events/events.ts";
import { WebhookDispatcher } from "./events/webhooks.ts";
import { authenticate } from "./http/auth.ts";
import { StripeApiError } from "./http/errors.ts";
import { FaultInjector } from "./http/faults.ts";
import { parseForm } from "./http/form.ts";
import { apiHandler, type Pipeline } from "./http/pipeline.ts";
import { RateLimiter } from "./http/rate-limit.ts";
import { errorPayload, newRequestId, pathOf, recordRequest, send, stripeError } from "./http/respond.ts";
import { resources } from "./resources/index.ts";
import { createWebhookEndpoint } from "./resources/webhook_endpoints.ts";
import { State } from "./state.ts";

export type EmulatorHandle = {
  app: FastifyInstance;
  emulator: Emulator;
  state: State;
  faults: FaultInjector;
  rateLimiter: RateLimiter;
  /** Write the snapshot file (when configured). */
  saveSnapshot(): void;
};

/** The store, the webhook dispatcher and the `Emulator` every handler receives. */
function createCore(
  config: EmulatorConfig,
  logger: Logger,
): { emulator: Emulator; webhooks: WebhookDispatcher } {
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
  return { emulator, webhooks };
}

/** Fastify reading Stripe's form bodies and query strings with nested keys (`a[b][0]=c`). */
function createServer(): FastifyInstance {
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
  return app;
}

/** Stripe's answers to unknown URLs (404 after authentication) and to requests Fastify refuses. */
function registerFallbacks(app: FastifyInstance, emulator: Emulator): void {
  app.setNotFoundHandler((req, reply) => {
    const requestId = newRequestId();
    reply.header("request-id", requestId);
    let error: StripeApiError;
    try {
      authenticate(req.headers.authorization, emulator.config.apiKeys);
      error = new StripeApiError(404, {
        type: "invalid_request_error",
        message: `Unrecognized request URL (${req.method}: ${pathOf(req)}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      });
    } catch (e) {
      error = e as StripeApiError;
    }
    const idempotencyKey = (req.headers["idempotency-key"] as string | undefined) ?? null;
    recordRequest(emulator.state, req, { route: null, idempotencyKey, status: error.status, requestId });
    return send(reply, error.status, errorPayload(error, requestId));
  });
  app.setErrorHandler((error, req, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    const apiError =
      status < 500
        ? stripeError(400, "invalid_request_error", `Invalid request: ${(error as Error).message}`)
        : stripeError(500, "api_error", "An unknown error occurred.");
    if (status >= 500) emulator.logger.error({ err: error, path: req.url }, "request failed");
    return send(reply, apiError.status, errorPayload(apiError, newRequestId()));
  });
}

/** Build the emulator: a Fastify app speaking the Stripe API subset, plus its state handle. */
export function buildEmulator(config: EmulatorConfig): EmulatorHandle {
  const logger = createLogger("stripe-emulator", { level: config.logLevel });
  const { emulator, webhooks } = createCore(config, logger);
  const { state } = emulator;
  const faults = new FaultInjector();
  const rateLimiter = new RateLimiter(config.rateLimitPerSecond, config.endpointRateLimitPerSecond);
  const seedWebhook = () => {
    if (!config.webhook) return;
    createWebhookEndpoint(state, {
      url: config.webhook.url,
      enabledEvents: ["*"],
      secret: config.webhook.secret,
      description: "preconfigured (env)",
    });
  };
  const saveSnapshot = () => {
    if (config.snapshotPath) writeFileSync(config.snapshotPath, JSON.stringify(state.snapshot()));
  };
  if (config.snapshotPath && existsSync(config.snapshotPath)) {
    state.load(JSON.parse(readFileSync(config.snapshotPath, "utf8")));
    logger.info({ path: config.snapshotPath }, "loaded snapshot");
  } else {
    seedWebhook();
  }

  const app = createServer();
  const pipeline: Pipeline = { emulator, logger, faults, rateLimiter, locks: new Set() };
  for (const routes of Object.values(resources)) {
    for (const route of routes)
      app.route({ method: route.method, url: route.path, handler: apiHandler(pipeline, route) });
  }
  registerFallbacks(app, emulator);
  registerControlRoutes(app, { emulator, webhooks, faults, rateLimiter, seedWebhook, saveSnapshot });
  app.addHook("onClose", async () => {
    webhooks.stop();
    saveSnapshot();
  });
  return { app, emulator, state, faults, rateLimiter, saveSnapshot };
}
