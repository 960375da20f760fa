import type { ErrorClass } from "@bridge/messaging";
import { storeErrorClass } from "@bridge/store";
import { stripeErrorClass } from "@bridge/stripe-client";

/**
 * The sync-consumer's classifier for the Kafka runtime (docs/decisions/003, 024): Stripe's errors
 * by Stripe's table, the store's by Postgres' and Prisma's codes. A permanent failure (a value the
 * store can never hold, a request Stripe refuses) is dead-lettered at once with its reason instead
 * of going round the retries first; anything unclassified stays retryable.
 */
export const syncErrorClass = (error: unknown): ErrorClass | undefined =>
  stripeErrorClass(error) ?? storeErrorClass(error);
