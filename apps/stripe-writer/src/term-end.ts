import { type Span, termEndFromAnchor, termEndMetadata } from "@bridge/domain";
import type { ActionContext } from "./context.ts";

/** What step `term-end` needs of a new order's plan: its term, and the `cancel_at` it planned (unix seconds). */
export type TermEndPlan = { term: Span; cancelAt?: number };
/** What step `term-end` needs of the created subscription (the `subscription` step's record). */
export type CreatedSubscription = {
  subscriptionId: string;
  /** Absent in steps recorded before they were kept. */
  billingCycleAnchor?: number;
  cancelAt?: number | null;
};

const toUnix = (d: Date) => Math.floor(d.getTime() / 1000);

/**
 * Step `term-end` (decision 020): a fixed term runs from Stripe's billing anchor, not from the
 * plan's start, so a create that landed later than planned gets its `cancel_at` and
 * `limio_term_end` moved to anchor + term (termEndFromAnchor). Only the planned cancel_at is
 * moved: one a hook changed is left alone.
 *
 * Called once the first invoice is paid, or at once when nothing was due: Stripe lets an
 * `incomplete` subscription have "only metadata and default_source updated" (OpenAPI
 * components.schemas.subscription.properties.status), and a subscription created with
 * `default_incomplete` is incomplete until then.
 */
export async function moveTermEnd(
  ctx: ActionContext,
  plan: TermEndPlan,
  subscription: CreatedSubscription,
): Promise<void> {
  const planned = plan.cancelAt;
  if (!planned || subscription.cancelAt !== planned || subscription.billingCycleAnchor === undefined) return;
  const termEnd = termEndFromAnchor(
    { term: plan.term, cancelAt: new Date(planned * 1000) },
    new Date(subscription.billingCycleAnchor * 1000),
  );
  if (!termEnd) return;
  await ctx.step("term-end", async (key) => {
    await ctx.stripe.subscriptions.update(
      subscription.subscriptionId,
      // Nothing to prorate: the term end moves within periods not yet billed.
      {
        cancel_at: toUnix(termEnd),
        proration_behavior: "none",
        metadata: termEndMetadata(toUnix(termEnd)),
      },
      { idempotencyKey: key },
    );
    return { cancelAt: toUnix(termEnd) };
  });
}

/**
 * `moveTermEnd` for a new order that waited for its customer (decision 018), once the awaited
 * first invoice is paid: from the order's recorded `plan` and `subscription` steps.
 */
export async function moveRecordedTermEnd(ctx: ActionContext): Promise<void> {
  if (!ctx.steps.isDone("plan") || !ctx.steps.isDone("subscription")) return;
  const recorded = <T>(name: string) =>
    ctx.step<T>(name, () => Promise.reject(new Error(`step ${name} is not recorded`)));
  await moveTermEnd(
    ctx,
    await recorded<TermEndPlan>("plan"),
    await recorded<CreatedSubscription>("subscription"),
  );
}
