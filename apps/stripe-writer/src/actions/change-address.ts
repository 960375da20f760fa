import { buildCustomerAddressUpdate, type LimioChangeAddressOrder } from "@bridge/domain";
import { type ActionContext, type ActionResult, limioMetadata, linkedSubscription } from "../context.ts";

/**
 * `change_address`: billing → `address`, delivery → `shipping`, all → both (shipping from
 * `deliveryDetails` when given); name/phone/email follow. No type → the configured default.
 */
export async function changeAddress(ctx: ActionContext): Promise<ActionResult> {
  const linked = await linkedSubscription(ctx);
  const update = buildCustomerAddressUpdate(ctx.order as LimioChangeAddressOrder, {
    defaultAddressType: ctx.defaultAddressType,
  });
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
    stripe: { customerId: linked.stripeCustomerId, subscriptionId: linked.stripeSubscriptionId },
  };
}
