import { afterEach, describe, expect, it, vi } from "vitest";
import { createRateLimiter, defaultRateFor, sharedLimiterFor } from "./rate-limiter.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("token bucket", () => {
  it("lets a burst through, then exactly `rate` acquisitions per second, in order", async () => {
    vi.useFakeTimers();
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 10, now: () => Date.now() });
    const granted: number[] = [];
    for (let i = 0; i < 40; i += 1) void limiter.acquire().then(() => granted.push(i));
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toHaveLength(10);
    await vi.advanceTimersByTimeAsync(1000);
    expect(granted).toHaveLength(20);
    await vi.advanceTimersByTimeAsync(2000);
    expect(granted).toHaveLength(40);
    expect(granted).toEqual([...granted].sort((a, b) => a - b));
  });
});

describe("shared limiters", () => {
  it("uses Stripe's ceilings by key mode and shares one limiter per key", () => {
    expect(defaultRateFor("sk_test_abc")).toBe(25);
    expect(defaultRateFor("rk_live_abc")).toBe(100);
    expect(sharedLimiterFor("sk_test_same")).toBe(sharedLimiterFor("sk_test_same"));
    expect(sharedLimiterFor("sk_test_same")).not.toBe(sharedLimiterFor("sk_test_other"));
  });
});
