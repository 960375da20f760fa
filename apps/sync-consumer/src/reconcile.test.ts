import { findSubscriptionDetail, listEventsForSubscription, wasHandled } from "@bridge/store";
import { CONSUMER, reconcileSubscription } from "@bridge/sync-core";
import { describe, expect, it } from "vitest";
import { directDeps, seedLimioSubscription, stripeSubscription, until, useHarness } from "../test/harness.ts";

const ctx = useHarness();

describe("reconcileSubscription (dry run of the sync)", () => {
  it("reports nothing for a synced subscription, the drift after an edit behind the bridge's back, and writes nothing", async () => {
    const s = await stripeSubscription(ctx.h.stripe);
    const { subscriptionId } = await seedLimioSubscription(ctx.h.store, {
      stripeSubscriptionId: s.subscription.id,
      stripeCustomerId: s.customer.id,
    });
    const requestId = await ctx.h.publishSyncRequest(subscriptionId, "api");
    await until(() => wasHandled(ctx.h.store.db, CONSUMER, requestId), 30_000, "initial sync");
    const deps = directDeps(ctx.h.store, ctx.h.stripe);

    expect(await reconcileSubscription(deps, subscriptionId)).toEqual({
      subscriptionId,
      status: "in_sync",
      drift: [],
    });

    // Someone edits the Limio store directly: cancelled in Limio, still active in Stripe.
    await ctx.h.store.db.subscription.update({
      where: { id: subscriptionId },
      data: { status: "cancelled", termEnd: new Date("2020-01-01T00:00:00Z") },
    });
    const auditBefore = await listEventsForSubscription(ctx.h.store.db, subscriptionId);
    const result = await reconcileSubscription(deps, subscriptionId);
    expect(result.status).toBe("drift");
    expect(result.drift).toEqual(
      expect.arrayContaining([
        { type: "subscription.status_changed", changes: { status: { from: "cancelled", to: "active" } } },
        expect.objectContaining({ type: "subscription.term_changed" }),
      ]),
    );
    // A dry run: the drift is still there and no audit event was written.
    expect(await findSubscriptionDetail(ctx.h.store.db, subscriptionId)).toMatchObject({
      status: "cancelled",
    });
    expect(await listEventsForSubscription(ctx.h.store.db, subscriptionId)).toEqual(auditBefore);

    expect(await reconcileSubscription(deps, "sub-00000000000000000000000000000000")).toMatchObject({
      status: "not_found",
    });
  });
});
