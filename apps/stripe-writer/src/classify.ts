import type { ErrorClass } from "@bridge/messaging";
import { classifyStripeError } from "@bridge/stripe-client";
import Stripe from "stripe";

/**
 * Errors that escape a handler: Stripe errors by the shared taxonomy; Prisma's transaction
 * conflicts and connection errors are retryable (the runtime's default for anything unknown).
 */
export function failureClassifier(error: unknown): ErrorClass | undefined {
  if (error instanceof Stripe.errors.StripeError) {
    const classified = classifyStripeError(error);
    return classified.name === "FatalError"
      ? "fatal"
      : classified.name === "PermanentError"
        ? "permanent"
        : "retryable";
  }
  return undefined;
}
