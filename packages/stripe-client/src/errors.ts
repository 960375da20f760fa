import { type ErrorClass, FatalError, PermanentError, RetryableError } from "@bridge/errors";
import Stripe from "stripe";

/** What a failed Stripe call means for the order: retry later, or fail it with Stripe's reason. */
export type StripeFailure = {
  code: string;
  message: string;
  type: string;
  statusCode?: number | undefined;
  declineCode?: string | undefined;
  requestId?: string | undefined;
};

export function stripeFailureOf(error: unknown): StripeFailure {
  if (error instanceof Stripe.errors.StripeError) {
    return {
      code: error.code ?? error.type,
      message: error.message,
      type: error.type,
      statusCode: error.statusCode,
      declineCode: error.decline_code,
      requestId: error.requestId,
    };
  }
  return { code: "unknown_error", message: (error as Error)?.message ?? String(error), type: "unknown" };
}

/**
 * Map a Stripe SDK error onto the messaging runtime's taxonomy (docs/decisions/003):
 * - retryable: connection failures, 5xx, 429 (rate limit and `lock_timeout`), 409 conflicts on an
 *   idempotent request still in flight; `Retry-After` is honoured when Stripe sends it;
 * - fatal: authentication/permission errors: the key is wrong, no message can succeed;
 * - permanent: everything else the API answered (invalid request, card declined, idempotency
 *   key reused with other parameters): the order fails with Stripe's code and message.
 */
export function classifyStripeError(error: unknown): RetryableError | PermanentError | FatalError {
  const failure = stripeFailureOf(error);
  const summary = `Stripe ${failure.type}${failure.code ? ` (${failure.code})` : ""}: ${failure.message}`;
  if (!(error instanceof Stripe.errors.StripeError)) {
    return new RetryableError(summary, { cause: error });
  }
  if (
    error instanceof Stripe.errors.StripeAuthenticationError ||
    error instanceof Stripe.errors.StripePermissionError
  ) {
    return new FatalError(summary, { cause: error });
  }
  const status = error.statusCode ?? 0;
  const retryable =
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    error instanceof Stripe.errors.StripeAPIError ||
    error.code === "lock_timeout" ||
    status === 429 ||
    status >= 500 ||
    (status === 409 && !(error instanceof Stripe.errors.StripeIdempotencyError));
  if (retryable) {
    const retryAfter = Number(error.headers?.["retry-after"]);
    return new RetryableError(summary, {
      cause: error,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
    });
  }
  return new PermanentError(summary, { cause: error });
}

/**
 * The class of a Stripe SDK error for the Kafka runtime's `classifyError` option (the same
 * table as `classifyStripeError`); undefined for anything that is not a Stripe error.
 */
export function stripeErrorClass(error: unknown): ErrorClass | undefined {
  if (!(error instanceof Stripe.errors.StripeError)) return undefined;
  const classified = classifyStripeError(error);
  if (classified instanceof FatalError) return "fatal";
  if (classified instanceof PermanentError) return "permanent";
  return "retryable";
}

/** A Stripe call whose failure is rethrown classified (retryable with Retry-After, permanent, fatal). */
export async function classified<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw classifyStripeError(error);
  }
}
