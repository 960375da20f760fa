import { type ActionContext, limioMetadata } from "./context.ts";

/** Step `<prefix>subscription-default` of a `change_payment`: the method becomes the subscription's default. */
export async function setSubscriptionDefault(
  ctx: ActionContext,
  subscriptionId: string,
  paymentMethodId: string,
  prefix: string,
): Promise<void> {
  await ctx.step(`${prefix}subscription-default`, async (key) => {
    await ctx.stripe.subscriptions.update(
      subscriptionId,
      { default_payment_method: paymentMethodId, metadata: limioMetadata(ctx) },
      { idempotencyKey: key },
    );
    return { paymentMethodId };
  });
}

/**
 * Stripe lets an `incomplete` subscription have "only metadata and default_source updated"
 * (OpenAPI components.schemas.subscription.properties.status): a `change_payment` for one pays
 * its first invoice with the method first, and makes it the subscription's default once paid.
 * This finishes that for an order that waited for its customer (3-D Secure, decision 018); the
 * method is the one step `<prefix>customer-default` recorded.
 */
export async function setDeferredSubscriptionDefault(
  ctx: ActionContext,
  subscriptionId: string,
  prefix: string,
): Promise<void> {
  if (ctx.steps.isDone(`${prefix}subscription-default`)) return;
  if (!ctx.steps.isDone(`${prefix}customer-default`)) return;
  const { paymentMethodId } = await ctx.step<{ paymentMethodId: string }>(`${prefix}customer-default`, () =>
    Promise.reject(new Error(`step ${prefix}customer-default is not recorded`)),
  );
  await setSubscriptionDefault(ctx, subscriptionId, paymentMethodId, prefix);
}
