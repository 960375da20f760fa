import { cancelTiming, currentPeriodEnd, type LimioCancelSubscriptionOrder } from "@bridge/domain";
import {
  type ActionContext,
  type ActionResult,
  limioMetadata,
  linkedSubscription,
  refuseIncomplete,
} from "../context.ts";

/**
 * `cancel_subscription` (Order Cancel): when, by the domain's cancelTiming (`cancelDate` or
 * `effectiveDate`; never before the paid period ends); a pending schedule is released first.
 */
export async function cancelSubscription(ctx: ActionContext): Promise<ActionResult> {
  const order = ctx.order as LimioCancelSubscriptionOrder;
  const linked = await linkedSubscription(ctx);
  const ids = { customerId: linked.stripeCustomerId, subscriptionId: linked.stripeSubscriptionId };
  const metadata = limioMetadata(ctx);

  const current = await ctx.stripe.subscriptions.retrieve(linked.stripeSubscriptionId);
  if (current.status === "canceled" || current.status === "incomplete_expired") {
    return { status: "applied", action: "none", stripe: ids };
  }
  refuseIncomplete(current, ids, "its cancellation");
  const scheduleId = typeof current.schedule === "string" ? current.schedule : current.schedule?.id;
  if (scheduleId) {
    // A pending downgrade would otherwise renew the subscription into its next phase.
    await ctx.step("release-schedule", async (key) => {
      await ctx.stripe.subscriptionSchedules.release(scheduleId, {}, { idempotencyKey: key });
      return { scheduleId };
    });
  }
  await ctx.step("cancel", async (key) => {
    const updated = await ctx.stripe.subscriptions.update(
      linked.stripeSubscriptionId,
      {
        ...cancelTiming({
          cancelDate: order.cancelDate,
          effectiveDate: order.effectiveDate,
          periodEnd: currentPeriodEnd(current),
        }),
        metadata,
      },
      { idempotencyKey: key },
    );
    return { cancelAt: updated.cancel_at, cancelAtPeriodEnd: updated.cancel_at_period_end };
  });
  return { status: "applied", action: "cancel_scheduled", stripe: ids };
}
