import type { BackoffPolicy } from "./backoff.ts";

/**
 * How a consumer retries a message whose handler failed with a retryable error. Each app declares
 * its own next to its consumer (its wiring module); `defaultRetryPolicy` fills what it leaves out.
 */
export type RetryOptions = {
  /** Attempts per delivery, in place, before forwarding. */
  attempts?: number;
  /** In-place backoff: doubling from `baseDelayMs`, at most `maxDelayMs`, full jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Forward to `<topic>.retry` after the in-place attempts (the topic must exist). */
  retryTopic?: boolean;
  /** Passes through `<topic>.retry` before the DLQ. */
  retryRounds?: number;
  /** Delay before a retry-topic message is handled, doubled each round. */
  retryTopicDelayMs?: number;
  /**
   * Longest wait inside a batch (an in-place backoff, a retry message's remaining delay). kafkajs
   * fetches again from a broker only once every batch of its last fetch is done, so a longer wait
   * would hold up every partition that broker leads. Beyond it the message's partition is paused
   * and the message read again when due; a longer Retry-After goes to the retry topic at once.
   */
  maxInPlaceWaitMs?: number;
};

export type RetryPolicy = {
  attempts: number;
  retryTopic: boolean;
  retryRounds: number;
  retryTopicDelayMs: number;
  maxInPlaceWaitMs: number;
  backoff: BackoffPolicy;
};

/**
 * 3 attempts in place (200 ms doubling, ≤ 10 s), then 3 rounds through `.retry` (5 s, 10 s, 20 s),
 * then the DLQ; at most 1 s of waiting inside a batch.
 */
export const defaultRetryPolicy: Required<RetryOptions> = {
  attempts: 3,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  retryTopic: true,
  retryRounds: 3,
  retryTopicDelayMs: 5_000,
  maxInPlaceWaitMs: 1_000,
};

export function retryPolicyOf(options: RetryOptions = {}): RetryPolicy {
  const o = { ...defaultRetryPolicy, ...options };
  return {
    attempts: Math.max(1, o.attempts),
    retryTopic: o.retryTopic,
    retryRounds: o.retryRounds,
    retryTopicDelayMs: o.retryTopicDelayMs,
    maxInPlaceWaitMs: Math.max(0, o.maxInPlaceWaitMs),
    backoff: { baseDelayMs: o.baseDelayMs, maxDelayMs: o.maxDelayMs },
  };
}
