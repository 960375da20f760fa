import { setTimeout as sleep } from "node:timers/promises";

/**
 * Calls `check` every `intervalMs` until it returns true, `timeoutMs` passed or `signal` aborted.
 * Resolves true when the condition held. Errors of `check` count as "not yet".
 */
export async function pollUntil(
  check: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs: number; signal?: AbortSignal },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (options.signal?.aborted) return false;
    if (await check().catch(() => false)) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    try {
      await sleep(Math.min(options.intervalMs, left), undefined, { signal: options.signal });
    } catch {
      return false;
    }
  }
}
