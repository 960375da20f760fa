/** Fixed one-second windows per API key, as Stripe's per-second request limits. */
export class RateLimiter {
  private windows = new Map<string, { second: number; count: number }>();
  perSecond: number;

  constructor(perSecond: number) {
    this.perSecond = perSecond;
  }

  /** True when the request may proceed. */
  take(key: string, nowMs = Date.now()): boolean {
    if (this.perSecond <= 0) return true;
    const second = Math.floor(nowMs / 1000);
    const w = this.windows.get(key);
    if (!w || w.second !== second) {
      this.windows.set(key, { second, count: 1 });
      return true;
    }
    w.count++;
    return w.count <= this.perSecond;
  }

  reset(): void {
    this.windows.clear();
  }
}
