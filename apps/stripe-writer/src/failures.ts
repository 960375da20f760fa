import { DomainRuleError } from "@bridge/domain";
import { type ErrorClass, RetryableError } from "@bridge/messaging";
import { storeErrorClass, storeErrorReason } from "@bridge/store";
import { classifyStripeError, stripeErrorClass, stripeFailureOf } from "@bridge/stripe-client";
import Stripe from "stripe";
import { needsCustomerAuthentication } from "./awaiting-payment.ts";
import type { ActionContext, ActionResult, StripeIds } from "./context.ts";
import { OrderFailure } from "./context.ts";
import { HookError } from "./hooks.ts";

/**
 * The writer's classifier for the Kafka runtime (docs/decisions/003, 024): Stripe's errors by
 * Stripe's table, the store's by Postgres' and Prisma's codes; anything else is retryable.
 */
export const writerErrorClass = (error: unknown): ErrorClass | undefined =>
  stripeErrorClass(error) ?? storeErrorClass(error);

/** The outcome's error when the store cannot hold what the order carries (a value, not an outage). */
export function storeRefusal(error: unknown): { code: string; message: string } {
  return { code: "store_refused", message: `the order cannot be stored: ${storeErrorReason(error)}` };
}

/** A Stripe refusal the order cannot recover from (declined card, invalid request). */
const isPermanentStripeError = (error: unknown): boolean => stripeErrorClass(error) === "permanent";

/**
 * What a failed `invoices.pay` means for the order: 3-D Secure waits for the customer (decision
 * 018), a Stripe refusal (a decline) fails the order with Stripe's code and the ids, anything else
 * is rethrown for the runtime to retry.
 */
export function invoicePaymentFailure<T>(
  error: unknown,
  awaitPayment: () => T,
  refusal: { stripe: StripeIds; describe?: (stripeMessage: string) => string },
): T {
  if (needsCustomerAuthentication(error)) return awaitPayment();
  if (!isPermanentStripeError(error)) throw error;
  const failure = stripeFailureOf(error);
  throw new OrderFailure(failure.code, refusal.describe?.(failure.message) ?? failure.message, {
    stripeCode: failure.declineCode ?? failure.code,
    stripe: refusal.stripe,
    cause: error,
  });
}

/**
 * What a failed action means for the order: a failed outcome (permanent: Stripe refused, a hook
 * threw, a domain rule or the writer refused the order, the store cannot hold a value), or an error rethrown for the runtime:
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
  if (storeErrorClass(error) === "permanent") return { stripe: {}, error: storeRefusal(error) };
  const stripeClass = stripeErrorClass(error);
  if (stripeClass === undefined) throw error;
  if (stripeClass !== "permanent") throw classifyStripeError(error);
  const failure = stripeFailureOf(error);
  return {
    stripe: {},
    error: { code: failure.code, message: failure.message, stripeCode: failure.declineCode ?? failure.code },
  };
}

/** How long an order waits for an advancing test clock before it is tried again. */
const CLOCK_RETRY_MS = 2_000;

/**
 * The test clock still advancing among the customers' clocks, if any. Stripe refuses writes to a
 * clock's objects while it advances: the advance "starts advancing" and is done "when status
 * changes to Ready" (docs.stripe.com/api/test_clocks/advance). Stripe publishes no error code for
 * that refusal, so the clock's own status says whether an invalid request was one.
 */
async function advancingTestClock(
  stripe: Stripe,
  customerIds: Iterable<string>,
): Promise<string | undefined> {
  for (const id of customerIds) {
    let customer: Stripe.Customer | Stripe.DeletedCustomer;
    try {
      customer = await stripe.customers.retrieve(id, { expand: ["test_clock"] });
    } catch (error) {
      // A customer Stripe refuses to show (gone, never there) has no clock to wait for; a failed
      // read (network, 5xx, 429) retries the order rather than failing it on a guess.
      if (stripeErrorClass(error) === "permanent") continue;
      throw classifyStripeError(error);
    }
    if (customer.deleted) continue;
    const clock = customer.test_clock;
    if (clock && typeof clock === "object" && clock.status === "advancing") return clock.id;
  }
  return undefined;
}

/**
 * Runs an action; a failure the order cannot recover from becomes a `failed` result. With `ctx`,
 * an invalid request while a customer of the order is on an advancing test clock is retried
 * instead (test mode only: live customers have no clock).
 */
export async function runAction(
  action: () => Promise<ActionResult>,
  ctx?: Pick<ActionContext, "stripe" | "stripeCustomers">,
): Promise<ActionResult> {
  try {
    return await action();
  } catch (error) {
    if (ctx && error instanceof Stripe.errors.StripeInvalidRequestError) {
      const clock = await advancingTestClock(ctx.stripe, ctx.stripeCustomers);
      if (clock) {
        throw new RetryableError(
          `Stripe refused a write while test clock ${clock} advances: ${error.message}`,
          {
            cause: error,
            retryAfterMs: CLOCK_RETRY_MS,
          },
        );
      }
    }
    const failed = failureOutcome(error);
    return { status: "failed", action: "none", stripe: failed.stripe, error: failed.error };
  }
}
