// The classes live in @bridge/errors so that packages without Kafka (stripe-client) can raise
// them; the runtime re-exports them and decides what each class means for a message.
import {
  type ErrorClass,
  FatalError,
  PermanentError,
  PoisonMessageError,
  RetryableError,
} from "@bridge/errors";

export * from "@bridge/errors";

/** Thrown by the producer when asked to publish something that is not a valid envelope. */
export class InvalidEnvelopeError extends PermanentError {
  override readonly name: string = "InvalidEnvelopeError";
}

/** Thrown by the producer when the broker did not acknowledge within the publish timeout. */
export class PublishTimeoutError extends RetryableError {
  override readonly name: string = "PublishTimeoutError";
}

/** Optional app-specific mapping (e.g. Stripe errors); `undefined` falls through. */
export type ErrorClassifier = (error: unknown) => ErrorClass | undefined;

export function classifyError(error: unknown, custom?: ErrorClassifier): ErrorClass {
  if (error instanceof FatalError) return "fatal";
  if (error instanceof PoisonMessageError) return "poison";
  if (error instanceof PermanentError) return "permanent";
  if (error instanceof RetryableError) return "retryable";
  const mapped = custom?.(error);
  if (mapped) return mapped;
  return "retryable";
}

export function retryAfterMsOf(error: unknown): number | undefined {
  return error instanceof RetryableError ? error.retryAfterMs : undefined;
}

export function errorMessageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function errorNameOf(error: unknown): string {
  if (error instanceof Error) return error.name;
  return typeof error;
}
