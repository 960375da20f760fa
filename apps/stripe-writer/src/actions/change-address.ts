import { customerUpdateOf, type LimioChangeAddressOrder, resolveAddressChange } from "@bridge/domain";
import { type ActionContext, type ActionResult, limioMetadata, linkedSubscription } from "../context.ts";

/**
 * `change_address`: billing → `address`, delivery → `shipping`, all → both (shipping from
 * `deliveryDetails` when given); name/phone/email follow. No type → the type the details imply,
 * else the configured default. The outcome carries the type applied, so the sync records the
 * same addresses in the Limio store.
 */
export async function changeAddress(ctx: ActionContext): Promise<ActionResult> {
  const linked = await linkedSubscription(ctx);
  const order = ctx.order as LimioChangeAddressOrder;
  const change = resolveAddressChange(order, ctx.defaultAddressType);
  const update = customerUpdateOf(change, order);
  await ctx.step("customer", async (key) => {
    await ctx.stripe.customers.update(
      linked.stripeCustomerId,
      { ...update, metadata: limioMetadata(ctx) },
      { idempotencyKey: key },
    );
    return { customerId: linked.stripeCustomerId };
  });
  return {
    status: "applied",
    action: "address_updated",
    addressType: change.type,
    stripe: { customerId: linked.stripeCustomerId, subscriptionId: linked.stripeSubscriptionId },
  };
}
