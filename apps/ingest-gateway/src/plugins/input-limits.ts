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

/** Throws a 400 naming the field when `body` breaks `limits`. */
export function refuseUnstorable(body: unknown, limits: InputLimits): void {
  const problem = findInputProblem(body, limits);
  if (problem) {
    throw new HttpError(400, "invalid_input", `${problem.path}: ${problem.message}`, { details: [problem] });
  }
}
