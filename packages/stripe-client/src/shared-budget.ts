import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createRateLimiter, defaultRateFor, type RateLimiter } from "./rate-limiter.ts";

/**
 * Who is asking: orders (the writer) are served first; background work (sync, backfill) may use
 * the whole budget while no order is active, leaves a reserve of each window to orders while they
 * are, and waits while an order is short.
 */
export type BudgetLane = "orders" | "background";

/** One take (the store's `StripeGrantRequest` says what each field means). */
export type BudgetTakeRequest = Record<"want" | "limit" | "reserve" | "windowMs" | "holdMs", number> & {
  priority: boolean;
};

/** Where the account's grants are kept (Postgres: `stripeBudgetStore` in @bridge/store). */
export type BudgetStore = {
  take(request: BudgetTakeRequest): Promise<{ granted: number; waitMs: number }>;
  heartbeat(memberId: string, lane: string, windowMs: number): Promise<number>;
  leave(memberId: string): Promise<void>;
};

export type SharedBudgetOptions = {
  store: BudgetStore;
  lane: BudgetLane;
  /** Stripe's limit for the whole account, requests per second (25 test mode, 100 live). */
  limitPerSecond: number;
  /**
   * No window this long holds more than `limitPerSecond` grants. A little over a second (default
   * 1,030 ms) so that requests reaching Stripe a few ms later or earlier than granted still fit
   * its one-second windows.
   */
  windowMs?: number;
  /**
   * Grants per window background work leaves for orders while orders are active, the orders' own
   * grants included (default: one in ten).
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
 * Waiting requests are granted together in one round trip; while the store is unreachable the process falls
 * back to a local bucket sized to its share of the account (see `fallbackRatePerSecond`).
 */
export function createSharedBudget(options: SharedBudgetOptions): SharedBudget {
  const { store, lane, limitPerSecond: limit } = options;
  const windowMs = options.windowMs ?? 1_030;
  const reserve = options.reserve ?? Math.max(1, Math.round(limit / 10));
  const ratePerSecond = (limit * 1000) / windowMs;
  // An order short of grants holds background work off until four slots' time after its slot frees:
  // long enough for the order's next takes to arrive before background work's.
  const holdMs = Math.ceil((4 * windowMs) / limit);
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
    (ratePerSecond / ((knownMembers ?? options.assumedMembers ?? 4) + 1)) * (lane === "orders" ? 1 : 0.5);

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
        let grant: { granted: number; waitMs: number };
        try {
          const request = { want: waiters.length, limit, reserve, windowMs, holdMs };
          grant = await withTimeout(store.take({ ...request, priority: lane === "orders" }), storeTimeoutMs);
        } catch (error) {
          switchTo("fallback", error);
          continue;
        }
        switchTo("shared");
        for (let i = 0; i < grant.granted; i += 1) serveNext();
        // Sleep until a slot frees for this lane; a little jitter keeps processes that computed
        // the same instant from all asking at once.
        if (grant.granted === 0) await sleep(Math.max(1, grant.waitMs) + Math.random() * 3);
      }
    } finally {
      pumping = false;
    }
  };

  return {
    ratePerSecond,
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

/**
 * The budget a service takes its Stripe requests from: the account's (one per secret key, kept
 * in `store`), at Stripe's limit for the key unless `limitPerSecond` says otherwise.
 */
export function accountBudget(
  secretKey: string,
  lane: BudgetLane,
  storeFor: (budgetId: string) => BudgetStore,
  limitPerSecond: number = defaultRateFor(secretKey),
): SharedBudget {
  return createSharedBudget({ store: storeFor(budgetIdFor(secretKey)), lane, limitPerSecond });
}
