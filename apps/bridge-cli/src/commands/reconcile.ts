import { listLinkedSubscriptions } from "@bridge/store";
import { reconcileSubscription } from "@bridge/sync-core";
import { type Command, exitCodes } from "./command.ts";
import { syncDeps } from "./stripe-deps.ts";

/**
 * Compare every linked Limio subscription (or the given ones) with Stripe and report drift: the
 * changes a sync would make. Writes nothing; `bridge resync <sub-id>` repairs. Exit 1 on drift.
 */
export const reconcile: Command = {
  name: "reconcile",
  summary: "compare linked Limio subscriptions with Stripe and report drift (exit 1 if any)",
  usage: "bridge reconcile [<sub-id> ...] [--batch 100]",
  options: { batch: { type: "string", default: "100" } },
  async run(ctx, { positionals, values }) {
    const deps = syncDeps(ctx, this.name);
    let checked = 0;
    let drifted = 0;
    const check = async (subscriptionId: string) => {
      const result = await reconcileSubscription(deps, subscriptionId);
      checked += 1;
      if (result.status === "in_sync") return;
      drifted += 1;
      ctx.out(`${subscriptionId}: ${result.status}`);
      for (const d of result.drift) {
        ctx.out(`  ${d.type}`);
        for (const line of describeChanges(d.changes)) ctx.out(`    ${line}`);
      }
    };
    if (positionals.length > 0) {
      for (const id of positionals) await check(id);
    } else {
      let after: string | undefined;
      for (;;) {
        const page = await listLinkedSubscriptions(deps.store.db, { after, limit: Number(values.batch) });
        if (page.length === 0) break;
        for (const subscription of page) await check(subscription.id);
        after = page.at(-1)?.id;
      }
    }
    ctx.out(
      `checked ${checked}, drift in ${drifted}${drifted > 0 ? " (repair with: bridge resync <sub-id>)" : ""}`,
    );
    return drifted > 0 ? exitCodes.failed : exitCodes.ok;
  },
};

/** `{ status: { from: "cancelled", to: "active" } }` → `status: "cancelled" → "active"`. */
function describeChanges(changes: unknown): string[] {
  if (!changes || typeof changes !== "object") return [JSON.stringify(changes)];
  return Object.entries(changes as Record<string, { from?: unknown; to?: unknown }>).map(
    ([field, change]) =>
      `${field}: ${JSON.stringify(change?.from ?? null)} → ${JSON.stringify(change?.to ?? null)}`,
  );
}
