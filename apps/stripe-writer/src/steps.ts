import { completedSteps, type Db, recordStep } from "@bridge/store";
import type { CrashHook } from "./crash.ts";

/** The idempotency key of one step of one order: `limio:<orderId>:<step>` (loop prevention relies on the prefix). */
const idempotencyKeyFor = (orderId: string, step: string): string => `limio:${orderId}:${step}`;

/**
 * Runs one step of an order at most once per order: a step already in OrderStep returns its
 * recorded result without calling Stripe; otherwise `run` gets the step's idempotency key, its
 * result is recorded, then returned. Results must be small JSON (ids, statuses) and never
 * secrets: the store keeps them.
 */
export type StepRunner = <T>(name: string, run: (idempotencyKey: string) => Promise<T>) => Promise<T>;

export type StepRunnerOptions = {
  db: Db;
  orderId: string;
  /** Test-only crash switch (crash.ts). */
  crash?: CrashHook | undefined;
  /** Called once per step actually run (not replayed), e.g. for metrics. */
  onRun?: (step: string) => void;
};

export type OrderSteps = {
  step: StepRunner;
  /** Steps recorded before this delivery started. */
  readonly replayed: ReadonlySet<string>;
  /** Was this step recorded (by this or an earlier delivery)? */
  isDone(step: string): boolean;
};

export async function loadOrderSteps(options: StepRunnerOptions): Promise<OrderSteps> {
  const done = await completedSteps(options.db, options.orderId);
  const replayed = new Set(done.keys());
  const step: StepRunner = async <T>(name: string, run: (key: string) => Promise<T>): Promise<T> => {
    if (done.has(name)) return done.get(name) as T;
    const result = await run(idempotencyKeyFor(options.orderId, name));
    options.onRun?.(name);
    options.crash?.(name, "before-record");
    const recorded = result === undefined ? null : result;
    await recordStep(options.db, options.orderId, name, recorded);
    done.set(name, recorded);
    options.crash?.(name, "after-record");
    return recorded as T;
  };
  return { step, replayed, isDone: (name) => done.has(name) };
}
