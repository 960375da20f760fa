import { randomUUID } from "node:crypto";
import type { Store } from "@bridge/store";

/** A Limio customer and subscription linked to a Stripe subscription, as the outcome handler leaves them. */
export async function seedLimioSubscription(
  store: Store,
  input: { stripeSubscriptionId: string; stripeCustomerId: string; email?: string; source?: string },
) {
  const hex = () => randomUUID().replaceAll("-", "");
  const customerId = `cus-${hex()}`;
  const subscriptionId = `sub-${hex()}`;
  await store.db.customer.create({
    data: {
      id: customerId,
      email: input.email ?? "jenny@example.com",
      firstName: "Jenny",
      lastName: "Limio",
      phone: "+44 20 0000 0000",
      stripeCustomerId: input.stripeCustomerId,
      addresses: {
        create: [
          { id: `address-${hex()}`, type: "billing", line1: "9 Limio Road", city: "Bristol", country: "GB" },
          {
            id: `address-${hex()}`,
            type: "delivery",
            line1: "10 Limio Road",
            city: "Bristol",
            country: "GB",
          },
        ],
      },
    },
  });
  await store.db.subscription.create({
    data: {
      id: subscriptionId,
      reference: hex().slice(0, 12).toUpperCase(),
      customerId,
      status: "pending",
      source: input.source ?? "shop",
      stripeCustomerId: input.stripeCustomerId,
      stripeSubscriptionId: input.stripeSubscriptionId,
    },
  });
  return { customerId, subscriptionId };
}
