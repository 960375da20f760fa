export type BackoffPolicy = { baseDelayMs: number; maxDelayMs: number };

/**
 * Delay before attempt `attempt + 1` after `attempt` failures: exponential with full jitter
 * (uniform in [0, min(max, base·2^(attempt-1))]), never less than the server's Retry-After.
 */
export function backoffDelayMs(
  attempt: number,
  policy: BackoffPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(random() * ceiling);
  return Math.max(jittered, retryAfterMs ?? 0);
}

export class AbortedError extends Error {
  override readonly name = "AbortedError";
}

/**
 * Waits `ms`, calling `tick` (e.g. the consumer heartbeat) at least every `tickMs`, and gives
 * up with AbortedError as soon as `signal` aborts.
 */
export async function waitFor(
  ms: number,
  signal: AbortSignal,
  tick: () => Promise<void> = async () => {},
  tickMs = 1_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (signal.aborted) throw new AbortedError("wait aborted");
    const remaining = deadline - Date.now();
    if (remaining <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(remaining, tickMs));
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
    if (signal.aborted) throw new AbortedError("wait aborted");
    await tick();
  }
}
