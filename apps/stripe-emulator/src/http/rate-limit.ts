/**
 * Stripe's rate limiter (docs.stripe.com/rate-limits): per account, a global limit (live mode 100
 * requests/s, sandbox 25) and a per-endpoint limit (25 requests/s by default), where each named
 * operation is one endpoint (`GET /v1/payment_intents/:id` for every id is one). Fixed one-second
 * windows; the API key stands for the account. 0 disables a limit.
 */
export class RateLimiter {
  private windows = new Map<string, { second: number; count: number }>();
  perSecond: number;
  perEndpointPerSecond: number;

  constructor(perSecond: number, perEndpointPerSecond = 0) {
    this.perSecond = perSecond;
    this.perEndpointPerSecond = perEndpointPerSecond;
  }

  /** True when the request may proceed; `endpoint` is the route pattern (`POST /v1/customers/:id`). */
  take(account: string, endpoint = "", nowMs = Date.now()): boolean {
    const second = Math.floor(nowMs / 1000);
    const global = this.count(account, second, this.perSecond);
    const perEndpoint = endpoint
      ? this.count(`${account} ${endpoint}`, second, this.perEndpointPerSecond)
      : true;
    return global && perEndpoint;
  }

  private count(key: string, second: number, limit: number): boolean {
    if (limit <= 0) return true;
    const w = this.windows.get(key);
    if (!w || w.second !== second) {
      this.windows.set(key, { second, count: 1 });
      return true;
    }
    w.count++;
    return w.count <= limit;
  }

  reset(): void {
    this.windows.clear();
  }
}
