export type { Stripe } from "stripe";
export { createStripeClient, routeOf, type StripeClient, type StripeClientOptions } from "./client.ts";
export { classifyStripeError, type StripeFailure, stripeFailureOf } from "./errors.ts";
export { createRateLimiter, defaultRateFor, type RateLimiter, sharedLimiterFor } from "./rate-limiter.ts";
export * from "./shared-budget.ts";
