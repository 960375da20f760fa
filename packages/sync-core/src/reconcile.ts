import { randomUUID } from "node:crypto";
import { listEventsByCause } from "@bridge/store";
import { syncSubscriptionInTx } from "./apply-sync.ts";
import { type OperatorDeps, operatorDeps, syncStore } from "./deps.ts";

export type Drift = { type: string; changes: unknown };

export type ReconcileResult = {
  subscriptionId: string;
  status: "in_sync" | "drift" | "not_linked" | "not_found";
  drift: Drift[];
};

/** Carries the dry run's result out of the transaction it rolls back. */
class DryRun extends Error {
  readonly result: ReconcileResult;
  constructor(result: ReconcileResult) {
    super("dry run");
    this.result = result;
  }
}

/**
 * Does the Limio subscription still match Stripe? Runs the very sync the consumer runs, inside a
 * transaction that is always rolled back, and reports the changes it would have made: drift
 * found here is exactly what `bridge resync` repairs. Reads Stripe, writes nothing.
 */
export async function reconcileSubscription(
  deps: OperatorDeps,
  subscriptionId: string,
): Promise<ReconcileResult> {
  const full = operatorDeps(deps);
  const causeId = `reconcile:${randomUUID()}`;
  try {
    await syncStore(full.store).transaction(async (tx) => {
      const result = await syncSubscriptionInTx(tx, full, subscriptionId, { trigger: "operator", causeId });
      if (result.kind !== "applied") throw new DryRun({ subscriptionId, status: result.kind, drift: [] });
      const events = await listEventsByCause(tx, causeId);
      const drift = events.map((event) => ({ type: event.type, changes: event.changes }));
      throw new DryRun({ subscriptionId, status: drift.length > 0 ? "drift" : "in_sync", drift });
    });
  } catch (error) {
    if (error instanceof DryRun) return error.result;
    throw error;
  }
  throw new Error("unreachable: the dry run always rolls back");
}
