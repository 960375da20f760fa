import { DomainRuleError } from "@bridge/domain";
import { FatalError, PermanentError, RetryableError } from "@bridge/messaging";
import { classifyStripeError, stripeFailureOf } from "@bridge/stripe-client";
import Stripe from "stripe";
import type { ActionResult } from "./context.ts";
import { OrderFailure } from "./context.ts";
import { HookError } from "./hooks.ts";

const isStripeError = (error: unknown): error is Stripe.errors.StripeError =>
  error instanceof Stripe.errors.StripeError;

export function isPermanentStripeError(error: unknown): boolean {
  return isStripeError(error) && classifyStripeError(error) instanceof PermanentError;
}

/**
 * What a failed action means for the order: a failed outcome (permanent: Stripe refused, a hook
 * threw, a domain rule or the writer refused the order), or an error to rethrow so the runtime
 * retries (retryable) or the process exits (fatal).
 */
export function failureOutcome(error: unknown): Pick<ActionResult, "error" | "stripe"> {
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
  if (isStripeError(error)) {
    const classified = classifyStripeError(error);
    if (!(classified instanceof PermanentError)) throw classified;
    const failure = stripeFailureOf(error);
    return {
      stripe: {},
      error: {
        code: failure.code,
        message: failure.message,
        stripeCode: failure.declineCode ?? failure.code,
      },
    };
  }
  if (error instanceof FatalError || error instanceof RetryableError) throw error;
  throw error;
}
