import type { LimioCancelSubscriptionOrder } from "@bridge/domain";
import type Stripe from "stripe";
import { type ActionContext, type ActionResult, limioMetadata, linkedSubscription } from "../context.ts";

/** The end of the current billing period (API ≥ 2025-03-31: on the items; the latest one wins). */
export function currentPeriodEnd(sub: Stripe.Subscription): number {
  return Math.max(...sub.items.data.map((item) => item.current_period_end));
}

/**
 * What `cancelDate` means (docs/decisions/009):
 * - absent, in the past, today, or any time up to the end of the current period → cancel at the
 *   end of the current period (`cancel_at_period_end`). The customer paid for the period; we
 *   never end it early and never refund silently.
 * - after the end of the current period → `cancel_at` that date with `proration_behavior: none`
 *   (the customer keeps access until then; no partial credit is created).
 */
export function cancelParams(
  cancelDate: string | undefined,
  periodEnd: number,
): Pick<Stripe.SubscriptionUpdateParams, "cancel_at_period_end" | "cancel_at" | "proration_behavior"> {
  const at = cancelDate ? Math.floor(Date.parse(cancelDate) / 1000) : undefined;
  if (at !== undefined && Number.isFinite(at) && at > periodEnd) {
    return { cancel_at: at, proration_behavior: "none" };
  }
  return { cancel_at_period_end: true };
}

/** `cancel_subscription` (Order Cancel): end-of-term cancellation, releasing a pending schedule first. */
export async function cancelSubscription(ctx: ActionContext): Promise<ActionResult> {
  const order = ctx.order as LimioCancelSubscriptionOrder;
  const linked = await linkedSubscription(ctx);
  const ids = { customerId: linked.stripeCustomerId, subscriptionId: linked.stripeSubscriptionId };
  const metadata = limioMetadata(ctx);

  const current = await ctx.stripe.subscriptions.retrieve(linked.stripeSubscriptionId);
  if (current.status === "canceled" || current.status === "incomplete_expired") {
    return { status: "applied", action: "none", stripe: ids };
  }
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
      { ...cancelParams(order.cancelDate, currentPeriodEnd(current)), metadata },
      { idempotencyKey: key },
    );
    return { cancelAt: updated.cancel_at, cancelAtPeriodEnd: updated.cancel_at_period_end };
  });
  return { status: "applied", action: "cancel_scheduled", stripe: ids };
}
