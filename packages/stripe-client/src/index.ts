export type { Stripe } from "stripe";
export { createStripeClient, routeOf, type StripeClient, type StripeClientOptions } from "./client.ts";
export { stripeNow } from "./clock.ts";
export {
  classified,
  classifyStripeError,
  type StripeFailure,
  stripeErrorClass,
  stripeFailureOf,
} from "./errors.ts";
export { createRateLimiter, defaultRateFor, type RateLimiter, sharedLimiterFor } from "./rate-limiter.ts";
export * from "./shared-budget.ts";
