import { randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { State } from "../state.ts";
import { StripeApiError } from "./errors.ts";

/** Stripe's request ids: `req_` + 14 characters, sent back in the `Request-Id` header. */
export const newRequestId = () => `req_${randomBytes(10).toString("hex").slice(0, 14)}`;

export const pathOf = (req: FastifyRequest) => req.url.split("?")[0]!;

export function send(reply: FastifyReply, status: number, payload: string) {
  return reply.code(status).header("content-type", "application/json").send(payload);
}

/** `{ error: { type, code, param, message, …, request_log_url } }`, as Stripe renders errors. */
export function errorPayload(error: StripeApiError, requestId: string): string {
  return JSON.stringify(
    { error: { ...error.body, request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}` } },
    null,
    2,
  );
}

export function stripeError(
  status: number,
  type: StripeApiError["body"]["type"],
  message: string,
): StripeApiError {
  return new StripeApiError(status, { type, message });
}

/** A non-Stripe error thrown by a handler: zod issues are the caller's fault (400), the rest ours (500). */
export function asStripeError(error: unknown): StripeApiError | null {
  if (error instanceof StripeApiError) return error;
  if (error && typeof error === "object" && "issues" in error) {
    return stripeError(400, "invalid_request_error", String((error as unknown as Error).message));
  }
  return null;
}

/** The request log (`GET /_emulator/requests`), never with the Authorization header. */
export function recordRequest(
  state: State,
  req: FastifyRequest,
  entry: { route: string | null; idempotencyKey: string | null; status: number; requestId: string },
): void {
  state.requestLog.push({
    requestId: entry.requestId,
    method: req.method,
    path: pathOf(req),
    route: entry.route,
    idempotencyKey: entry.idempotencyKey,
    status: entry.status,
    at: new Date().toISOString(),
  });
}
