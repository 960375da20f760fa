import { DomainRuleError } from "@bridge/domain";
import { classifyStripeError, stripeErrorClass, stripeFailureOf } from "@bridge/stripe-client";
import type { ActionResult } from "./context.ts";
import { OrderFailure } from "./context.ts";
import { HookError } from "./hooks.ts";

/** A Stripe refusal the order cannot recover from (declined card, invalid request). */
export const isPermanentStripeError = (error: unknown): boolean => stripeErrorClass(error) === "permanent";

/**
 * What a failed action means for the order: a failed outcome (permanent: Stripe refused, a hook
 * threw, a domain rule or the writer refused the order), or an error rethrown for the runtime:
 * Stripe's retryable and fatal errors as the runtime's classes (with Retry-After), anything else
 * as it is (retried by default).
 */
function failureOutcome(error: unknown): Pick<ActionResult, "error" | "stripe"> {
  if (error instanceof OrderFailure) {
    return {
      stripe: error.stripe,
      error: {
        code: error.code,
        message: error.message,
        ...(error.stripeCode ? { stripeCode: error.stripeCode } : {}),
      },
    };
  }
  if (error instanceof HookError)
    return { stripe: {}, error: { code: "hook_failed", message: error.message } };
  if (error instanceof DomainRuleError) {
    return { stripe: {}, error: { code: error.code, message: error.message } };
  }
  const stripeClass = stripeErrorClass(error);
  if (stripeClass === undefined) throw error;
  if (stripeClass !== "permanent") throw classifyStripeError(error);
  const failure = stripeFailureOf(error);
  return {
    stripe: {},
    error: { code: failure.code, message: failure.message, stripeCode: failure.declineCode ?? failure.code },
  };
}

/** Runs an action; a failure the order cannot recover from becomes a `failed` result. */
export async function runAction(action: () => Promise<ActionResult>): Promise<ActionResult> {
  try {
    return await action();
  } catch (error) {
    const failed = failureOutcome(error);
    return { status: "failed", action: "none", stripe: failed.stripe, error: failed.error };
  }
}
