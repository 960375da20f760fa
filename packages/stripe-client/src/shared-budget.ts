import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createRateLimiter, type RateLimiter } from "./rate-limiter.ts";

/**
 * Who is asking: orders (the writer) are served first; background work (sync, backfill) only takes
 * tokens while the bucket holds more than the reserve kept for orders.
 */
export type BudgetLane = "orders" | "background";

/** Where the account's bucket lives (Postgres: `stripeBudgetStore` in @bridge/store). */
export type BudgetStore = {
  take(request: {
    want: number;
    ratePerSecond: number;
    burst: number;
    floor: number;
    priority: boolean;
    holdMs: number;
  }): Promise<{ granted: number; remaining: number; heldOffMs: number }>;
  heartbeat(memberId: string, lane: string, windowMs: number): Promise<number>;
  leave(memberId: string): Promise<void>;
};

export type SharedBudgetOptions = {
  store: BudgetStore;
  lane: BudgetLane;
  /** Stripe's limit for the whole account, requests per second (25 test mode, 100 live). */
  limitPerSecond: number;
  /** Bucket size; the refill is `limitPerSecond - burst`, so no one-second window exceeds the limit. */
  burst?: number;
  /**
   * Tokens background work must leave for orders (default: a quarter of the burst). Kept below
   * `burst - 1` so a background taker that comes back a little late still finds its token.
   */
  reserve?: number;
  /** A take slower than this counts as an outage. */
  storeTimeoutMs?: number;
  /** While in fallback, how often the store is tried again. */
  retryStoreMs?: number;
  /** Processes assumed to share the account when the store was never reached. */
  assumedMembers?: number;
  onModeChange?: (mode: BudgetMode, error?: unknown) => void;
};

export type BudgetMode = "shared" | "fallback";

export type SharedBudget = RateLimiter & {
  readonly lane: BudgetLane;
  mode(): BudgetMode;
  /** Requests per second this process allows itself while the store is unreachable. */
  fallbackRatePerSecond(): number;
  close(): Promise<void>;
};

const HEARTBEAT_MS = 2_000;
const MEMBER_WINDOW_MS = 3 * HEARTBEAT_MS;

/** The budget's id for an account key: a hash, so no key is ever stored or logged. */
export function budgetIdFor(secretKey: string): string {
  return `key_${createHash("sha256").update(secretKey).digest("hex").slice(0, 24)}`;
}

/**
 * One Stripe request budget per account, shared through `store` by every process that calls Stripe
 * (decision 016). Same interface as the per-process limiter, so the Stripe client takes either.
 * Waiting requests lease tokens in one round trip; while the store is unreachable the process falls
 * back to a local bucket sized to its share of the account (see `fallbackRatePerSecond`).
 */
export function createSharedBudget(options: SharedBudgetOptions): SharedBudget {
  const { store, lane, limitPerSecond: limit } = options;
  const burst = options.burst ?? Math.max(2, limit / 20);
  const refill = limit - burst;
  if (refill <= 0) throw new Error(`a budget of ${limit}/s cannot have a burst of ${burst}`);
  const reserve = options.reserve ?? burst / 4;
  const floor = lane === "orders" ? 0 : reserve;
  // An order short of tokens holds background work off for two refill intervals: long enough
  // for its next take to arrive, short enough that an idle writer wastes little of the budget.
  const holdMs = Math.ceil(2000 / refill);
  const storeTimeoutMs = options.storeTimeoutMs ?? 500;
  const retryStoreMs = options.retryStoreMs ?? 1_000;
  const memberId = randomUUID();

  const waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  let mode: BudgetMode = "shared";
  let knownMembers: number | undefined;
  let fallback: RateLimiter | undefined;
  let retryStoreAt = 0;
  let pumping = false;
  let closed = false;

  // Everyone seen recently plus one newcomer that may have started during the outage; background
  // work takes half of that, leaving the rest for orders.
  const fallbackRate = () =>
    (refill / ((knownMembers ?? options.assumedMembers ?? 4) + 1)) * (lane === "orders" ? 1 : 0.5);

  const heartbeat = () =>
    withTimeout(store.heartbeat(memberId, lane, MEMBER_WINDOW_MS), storeTimeoutMs).then(
      (members) => {
        knownMembers = members;
      },
      () => {},
    );
  void heartbeat();
  const heartbeats = setInterval(heartbeat, HEARTBEAT_MS);
  heartbeats.unref();

  const switchTo = (next: BudgetMode, error?: unknown) => {
    if (next === "fallback") retryStoreAt = Date.now() + retryStoreMs;
    if (mode === next) return;
    mode = next;
    fallback =
      next === "fallback" ? createRateLimiter({ ratePerSecond: fallbackRate(), burst: 1 }) : undefined;
    options.onModeChange?.(next, error);
  };

  const serveNext = () => waiters.shift()?.resolve();

  const pump = async () => {
    if (pumping) return;
    pumping = true;
    try {
      while (waiters.length > 0 && !closed) {
        if (fallback && Date.now() < retryStoreAt) {
          await fallback.acquire();
          serveNext();
          continue;
        }
        let grant: { granted: number; remaining: number; heldOffMs: number };
        try {
          const request = { want: waiters.length, ratePerSecond: refill, burst, floor, holdMs };
          grant = await withTimeout(store.take({ ...request, priority: lane === "orders" }), storeTimeoutMs);
        } catch (error) {
          switchTo("fallback", error);
          continue;
        }
        switchTo("shared");
        for (let i = 0; i < grant.granted; i += 1) serveNext();
        if (grant.granted === 0) {
          // Sleep until the bucket should hold a token above this lane's floor and no order holds
          // it; a little jitter keeps processes that computed the same instant from colliding.
          const missing = Math.max(0, floor + 1 - grant.remaining);
          await sleep(Math.max(1, (missing / refill) * 1000, grant.heldOffMs) + Math.random() * 3);
        }
      }
    } finally {
      pumping = false;
    }
  };

  return {
    ratePerSecond: refill,
    lane,
    mode: () => mode,
    fallbackRatePerSecond: fallbackRate,
    acquire() {
      if (closed) return Promise.reject(new Error("the Stripe budget is closed"));
      return new Promise<void>((resolve, reject) => {
        waiters.push({ resolve, reject });
        void pump();
      });
    },
    async close() {
      closed = true;
      clearInterval(heartbeats);
      for (const waiter of waiters.splice(0)) waiter.reject(new Error("the Stripe budget is closed"));
      await withTimeout(store.leave(memberId), storeTimeoutMs).catch(() => {});
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the budget store did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
