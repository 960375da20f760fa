/**
 * Error taxonomy of the bridge (DESIGN.md §3, docs/decisions/003).
 *
 * - retryable: the same message may succeed later (network, 5xx, 429, lock timeout, deadlock).
 *   Retried in place with backoff, then forwarded to `<topic>.retry`, then to `<topic>.dlq`.
 * - permanent: the message is understood but can never succeed (validation, card declined).
 *   Handlers normally turn these into a "failed" outcome themselves; one that escapes the
 *   handler goes to the DLQ at once.
 * - poison: the message cannot even be read (not JSON, not an envelope, data fails its schema).
 *   DLQ at once, raw bytes kept. Never stops the partition.
 * - fatal: the process cannot go on (bad configuration, missing schema). The consumer stops
 *   without committing the message and the process exits non-zero so it gets restarted.
 *
 * Anything unclassified is treated as retryable: unknown I/O failures are usually transient,
 * and after the retry budget the message parks in the DLQ where it can be re-driven.
 */

export type ErrorClass = "retryable" | "permanent" | "poison" | "fatal";

export class RetryableError extends Error {
  override readonly name: string = "RetryableError";
  /** Minimum wait before the next attempt (e.g. from a Retry-After header). */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
}

export class PermanentError extends Error {
  override readonly name: string = "PermanentError";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}

/** The message itself is unreadable: not JSON, not a valid envelope, or data fails its schema. */
export class PoisonMessageError extends Error {
  override readonly name: string = "PoisonMessageError";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}

/** The process cannot continue; the consumer stops and the process exits non-zero. */
export class FatalError extends Error {
  override readonly name: string = "FatalError";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}
