import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { HttpError } from "../http-errors.ts";
import { findInputProblem, type InputLimits } from "../input-limits.ts";

/**
 * Checks every parsed JSON body once, before any route's validation, against what the system can
 * store and bill (see input-limits.ts); raw bodies (the signed webhook) are checked by their route.
 */
export const inputLimitsPlugin = fp(
  async (app: FastifyInstance, options: { limits: InputLimits }) => {
    app.addHook("preValidation", async (request) => {
      const body = request.body;
      if (body === null || typeof body !== "object" || Buffer.isBuffer(body)) return;
      refuseUnstorable(body, options.limits);
    });
  },
  { name: "input-limits" },
);

/**
 * The limits of an event verified as Stripe's: only what the bridge cannot store. The order
 * limits (1,000 fields, 100 array items, 10,000-character strings, amounts) bound what a client
 * may send; Stripe's events are Stripe's objects, and a subscription event with 14 items already
 * has over 1,000 fields. Refusing one with 4xx is permanent (Stripe retries for three days, then
 * drops it), so only NUL and unpaired surrogates (Postgres' jsonb refuses them) are refused. Size
 * stays bounded by WEBHOOK_BODY_LIMIT_BYTES; depth by 64 levels, four times Stripe's deepest
 * object in an event (an invoice, 11 levels from the event's root): it keeps the walk's recursion
 * bounded, and no Stripe object comes near it.
 */
export const verifiedStripeEventLimits: InputLimits = {
  maxDepth: 64,
  maxStringLength: Number.POSITIVE_INFINITY,
  maxArrayItems: Number.POSITIVE_INFINITY,
  maxFields: Number.POSITIVE_INFINITY,
  maxOrderItems: Number.POSITIVE_INFINITY,
  maxQuantity: Number.POSITIVE_INFINITY,
  maxAmount: Number.POSITIVE_INFINITY,
};

/** Throws a 400 naming the field when `body` breaks `limits`. */
export function refuseUnstorable(body: unknown, limits: InputLimits): void {
  const problem = findInputProblem(body, limits);
  if (problem) {
    throw new HttpError(400, "invalid_input", `${problem.path}: ${problem.message}`, { details: [problem] });
  }
}
