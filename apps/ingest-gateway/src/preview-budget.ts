import { AsyncLocalStorage } from "node:async_hooks";
import {
  accountBudget,
  type BudgetLane,
  type BudgetStore,
  type RateLimiter,
  type SharedBudget,
} from "@bridge/stripe-client";

/**
 * Previews take Stripe requests below orders: the background lane of the account's budget
 * (decision 016), so a preview never takes a slot an order waits for, and while orders are
 * active it leaves them their reserve. A preview only informs a checkout page; an order bills.
 */
const PREVIEW_LANE: BudgetLane = "background";

/** The budget the gateway's previews take from (one per account key, shared through the store). */
export function previewBudget(
  secretKey: string,
  storeFor: (budgetId: string) => BudgetStore,
  limitPerSecond?: number,
): SharedBudget {
  return accountBudget(secretKey, PREVIEW_LANE, storeFor, limitPerSecond);
}

/** Why a preview stopped waiting for the Stripe budget. */
export type BudgetWaitEnd = "timeout" | "aborted" | "busy";

export class StripeBudgetWaitEnded extends Error {
  override readonly name = "StripeBudgetWaitEnded";
  readonly reason: BudgetWaitEnd;
  constructor(reason: BudgetWaitEnd) {
    super(
      reason === "busy"
        ? "too many previews already wait for the Stripe request budget"
        : reason === "timeout"
          ? "the Stripe request budget had no slot for the preview in time"
          : "the client went away while the preview waited for the Stripe request budget",
    );
    this.reason = reason;
  }
}

type RequestBound = {
  deadline: number;
  signal: AbortSignal;
  giveUp: (error: StripeBudgetWaitEnded) => void;
};
const requests = new AsyncLocalStorage<RequestBound>();

/**
 * Runs a request's Stripe calls (`work`) with their budget waits bounded by `deadline` and
 * `signal` (the client going away). Rejects with `StripeBudgetWaitEnded` as soon as a wait ends
 * so: the limiter's refusal reaches the SDK as a connection error it would retry, with backoff.
 */
export function withinRequestBudget<T>(
  bound: { deadline: number; signal: AbortSignal },
  work: () => Promise<T>,
): Promise<T> {
  let giveUp: (error: StripeBudgetWaitEnded) => void = () => {};
  const gaveUp = new Promise<never>((_, reject) => {
    giveUp = reject;
  });
  gaveUp.catch(() => {}); // only observed through the race below
  return Promise.race([requests.run({ ...bound, giveUp }, work), gaveUp]);
}

/**
 * `limiter`, with each wait of a call made inside `withinRequestBudget` bounded by its request;
 * other calls wait as `limiter` makes them. The shared budget cannot withdraw a waiting
 * acquisition, so one given up still takes its slot when served: at most `maxWaiting` are
 * outstanding (given-up ones included), beyond that a preview is refused at once.
 */
export function requestBoundLimiter(limiter: RateLimiter, options: { maxWaiting: number }): RateLimiter {
  let waiting = 0;
  return {
    ratePerSecond: limiter.ratePerSecond,
    acquire() {
      const request = requests.getStore();
      if (!request) return limiter.acquire();
      const end = (reason: BudgetWaitEnd) => {
        const error = new StripeBudgetWaitEnded(reason);
        request.giveUp(error);
        return error;
      };
      if (request.signal.aborted) return Promise.reject(end("aborted"));
      const left = request.deadline - Date.now();
      if (left <= 0) return Promise.reject(end("timeout"));
      if (waiting >= options.maxWaiting) return Promise.reject(end("busy"));
      waiting += 1;
      const granted = limiter.acquire().finally(() => {
        waiting -= 1;
      });
      return new Promise<void>((resolve, reject) => {
        const stop = (reason: BudgetWaitEnd) => {
          cleanup();
          reject(end(reason));
        };
        const onAbort = () => stop("aborted");
        const timer = setTimeout(() => stop("timeout"), left);
        request.signal.addEventListener("abort", onAbort, { once: true });
        const cleanup = () => {
          clearTimeout(timer);
          request.signal.removeEventListener("abort", onAbort);
        };
        granted.then(
          () => {
            cleanup();
            resolve();
          },
          (error: unknown) => {
            cleanup();
            reject(error);
          },
        );
      });
    },
  };
}
