/**
 * Token bucket: `ratePerSecond` tokens refill continuously up to `burst`. `acquire()` resolves when
 * a token is available; waiters are served in arrival order so no caller starves.
 */
export type RateLimiter = {
  acquire(): Promise<void>;
  readonly ratePerSecond: number;
};

export function createRateLimiter(options: {
  ratePerSecond: number;
  burst?: number;
  now?: () => number;
}): RateLimiter {
  const rate = options.ratePerSecond;
  const burst = options.burst ?? Math.max(1, Math.floor(rate));
  const now = options.now ?? (() => performance.now());
  let tokens = burst;
  let refilledAt = now();
  let tail: Promise<void> = Promise.resolve();

  const refill = () => {
    const t = now();
    tokens = Math.min(burst, tokens + ((t - refilledAt) / 1000) * rate);
    refilledAt = t;
  };

  const takeOne = async () => {
    refill();
    while (tokens < 1) {
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(((1 - tokens) / rate) * 1000)));
      refill();
    }
    tokens -= 1;
  };

  return {
    ratePerSecond: rate,
    acquire() {
      // Chain acquisitions so tokens are handed out strictly in request order.
      const next = tail.then(takeOne);
      tail = next.catch(() => {});
      return next;
    },
  };
}

const sharedLimiters = new Map<string, RateLimiter>();

/** Stripe's default ceiling for a key: 25 req/s in test mode, 100 req/s live. */
export function defaultRateFor(secretKey: string): number {
  return /^(sk|rk)_live_/.test(secretKey) ? 100 : 25;
}

/**
 * One limiter per Stripe key in this process, whatever number of clients or handlers use it:
 * Stripe enforces its limit per account key, not per connection.
 */
export function sharedLimiterFor(secretKey: string, ratePerSecond = defaultRateFor(secretKey)): RateLimiter {
  const id = `${secretKey}:${ratePerSecond}`;
  let limiter = sharedLimiters.get(id);
  if (!limiter) {
    limiter = createRateLimiter({ ratePerSecond });
    sharedLimiters.set(id, limiter);
  }
  return limiter;
}
