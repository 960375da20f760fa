import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { EmulatorConfig } from "./config.ts";
import type { Emulator } from "./context.ts";
import type { WebhookDispatcher } from "./events/webhooks.ts";
import { invalid, noSuch, StripeApiError } from "./http/errors.ts";
import type { FaultInjector } from "./http/faults.ts";
import type { RateLimiter } from "./http/rate-limit.ts";
import { errorPayload, newRequestId, send, stripeError } from "./http/respond.ts";
import { authenticatePaymentIntentByCustomer } from "./resources/payment_intents.ts";
import { authenticateSetupIntentByCustomer } from "./resources/setup_intents.ts";

export type ControlDeps = {
  emulator: Emulator;
  webhooks: WebhookDispatcher;
  faults: FaultInjector;
  rateLimiter: RateLimiter;
  /** Recreate the preconfigured webhook endpoint after a reset. */
  seedWebhook(): void;
  saveSnapshot(): void;
};

const authenticateBody = z.object({ outcome: z.enum(["succeed", "fail"]) });
type Outcome = z.infer<typeof authenticateBody>["outcome"];

/** The intent, which must be waiting for its customer's authentication. */
function awaitingAuthentication<I extends { status?: unknown }>(
  intent: I | undefined,
  type: "payment_intent" | "setup_intent",
  label: string,
  id: string,
): I {
  if (!intent) throw noSuch(type, id);
  if (intent.status !== "requires_action") {
    throw invalid(
      `This ${label}'s status is ${intent.status}; only a ${label} in requires_action can be authenticated.`,
      undefined,
      `${type}_unexpected_state`,
    );
  }
  return intent;
}

/** The customer's answer on Stripe's 3-D Secure test page, per intent type. */
const AUTHENTICATE = {
  payment_intent: (emulator: Emulator, id: string, outcome: Outcome): object =>
    authenticatePaymentIntentByCustomer(
      emulator,
      awaitingAuthentication(emulator.state.get("payment_intent", id), "payment_intent", "PaymentIntent", id),
      outcome,
    ),
  setup_intent: (emulator: Emulator, id: string, outcome: Outcome): object =>
    authenticateSetupIntentByCustomer(
      emulator,
      awaitingAuthentication(emulator.state.get("setup_intent", id), "setup_intent", "SetupIntent", id),
      outcome,
    ),
};

/** Stripe's 3-D Secure test page, played by the test: complete or fail the authentication. */
function authenticateRoute(emulator: Emulator, type: keyof typeof AUTHENTICATE) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const requestId = newRequestId();
    const parsed = authenticateBody.safeParse(req.body ?? {});
    if (!parsed.success) {
      const error = stripeError(400, "invalid_request_error", 'Body must be {"outcome":"succeed"|"fail"}.');
      return send(reply, 400, errorPayload(error, requestId));
    }
    try {
      const { id } = req.params as { id: string };
      const answer = AUTHENTICATE[type](emulator, id, parsed.data.outcome);
      return send(reply, 200, JSON.stringify(answer, null, 2));
    } catch (error) {
      if (!(error instanceof StripeApiError)) throw error;
      return send(reply, error.status, errorPayload(error, requestId));
    }
  };
}

/** Run-time settings (`PUT /_emulator/settings`). */
function applySettings(body: Record<string, unknown>, config: EmulatorConfig, deps: ControlDeps) {
  const { rateLimiter, webhooks } = deps;
  if (typeof body.rateLimitPerSecond === "number") rateLimiter.perSecond = body.rateLimitPerSecond;
  if (typeof body.endpointRateLimitPerSecond === "number")
    rateLimiter.perEndpointPerSecond = body.endpointRateLimitPerSecond;
  if (typeof body.webhookBackoffMs === "number") {
    webhooks.setBackoff(
      body.webhookBackoffMs,
      typeof body.webhookMaxAttempts === "number" ? body.webhookMaxAttempts : undefined,
    );
  }
  if (typeof body.dunningRetries === "number") config.dunning.retries = body.dunningRetries;
  if (typeof body.dunningIntervalSeconds === "number")
    config.dunning.intervalSeconds = body.dunningIntervalSeconds;
  if (
    body.dunningFinalStatus === "canceled" ||
    body.dunningFinalStatus === "unpaid" ||
    body.dunningFinalStatus === "past_due"
  ) {
    config.dunning.finalStatus = body.dunningFinalStatus;
  }
  return {
    rateLimitPerSecond: rateLimiter.perSecond,
    endpointRateLimitPerSecond: rateLimiter.perEndpointPerSecond,
    dunning: config.dunning,
  };
}

/** Test tooling under `/_emulator/`, a prefix Stripe never uses (README: "Control routes"). */
export function registerControlRoutes(app: FastifyInstance, deps: ControlDeps): void {
  const { emulator, webhooks, faults, rateLimiter } = deps;
  const { state, config } = emulator;
  app.get("/_emulator/health", async () => ({ status: "ok" }));
  app.post("/_emulator/reset", async () => {
    await webhooks.flush();
    state.reset();
    webhooks.clear();
    faults.clear();
    rateLimiter.reset();
    deps.seedWebhook();
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
  app.put("/_emulator/settings", async (req) =>
    applySettings((req.body ?? {}) as Record<string, unknown>, config, deps),
  );
  app.post("/_emulator/payment_intents/:id/authenticate", authenticateRoute(emulator, "payment_intent"));
  app.post("/_emulator/setup_intents/:id/authenticate", authenticateRoute(emulator, "setup_intent"));
  app.post("/_emulator/snapshot", async () => {
    deps.saveSnapshot();
    return { path: config.snapshotPath ?? null };
  });
}
