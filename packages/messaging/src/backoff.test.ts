import { describe, expect, it } from "vitest";
import { AbortedError, backoffDelayMs, waitFor } from "./backoff.ts";

describe("backoffDelayMs", () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };
  it("grows exponentially up to the cap (upper end of the jitter)", () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelayMs(a, policy, undefined, () => 1))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });
  it("jitters down to zero", () => {
    expect(backoffDelayMs(4, policy, undefined, () => 0)).toBe(0);
    expect(backoffDelayMs(4, policy, undefined, () => 0.5)).toBe(400);
  });
  it("never waits less than Retry-After", () => {
    expect(backoffDelayMs(1, policy, 5_000, () => 1)).toBe(5_000);
  });
});

describe("waitFor", () => {
  it("ticks while waiting and stops early when aborted", async () => {
    const controller = new AbortController();
    let ticks = 0;
    const started = Date.now();
    setTimeout(() => controller.abort(), 120);
    await expect(waitFor(10_000, controller.signal, async () => void ticks++, 30)).rejects.toBeInstanceOf(
      AbortedError,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(ticks).toBeGreaterThanOrEqual(2);
  });
});
