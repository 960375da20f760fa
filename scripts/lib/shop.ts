// What a Limio shop sends: a PaymentMethod created from card details (Stripe.js does this at
// checkout) and a Send Order API body for a new subscription. Shared by the demo journey and the
// cross-service tests.
import { randomUUID } from "node:crypto";
import type { Stripe } from "@bridge/stripe-client";

/** Demo catalog offers (packages/domain/catalog/demo-catalog.json) the journeys use. */
export const demoOffers = {
  digitalMonthly: { id: "cd6ab2dcae031206d51dc28b1dbfebdb980be49f", name: "Digital Monthly", amount: 999 },
  // The switch target: no one-off charge (a switch cannot bill one, decision 015).
  printDigital: {
    id: "6f1c0e2a9b7d4e3f8a6b1c0d2e4f6a8b0c1d3e5f",
    name: "Print + Digital Monthly (no welcome pack)",
    amount: 2499,
  },
};

/** A new `pm_…` from a Stripe test token (`tok_visa`, `tok_mastercard`, `tok_chargeDeclined`…). */
export async function shopCard(stripe: Stripe, token = "tok_visa"): Promise<string> {
  return (await stripe.paymentMethods.create({ type: "card", card: { token } })).id;
}

/** A `new` order for one offer, paid with `paymentMethod`, as POST /api/orders takes it. */
export function newOrderBody(email: string, paymentMethod: string, offerId = demoOffers.digitalMonthly.id) {
  return {
    order_type: "new",
    source: "shop",
    orderItems: [{ offer: { id: offerId }, quantity: 1 }],
    customerDetails: { firstName: "Ada", lastName: "Lovelace", email },
    billingDetails: {
      firstName: "Ada",
      lastName: "Lovelace",
      email,
      address1: "12 St James's Square",
      city: "London",
      postalCode: "SW1Y 4JH",
      country: "GB",
    },
    deliveryDetails: {
      firstName: "Ada",
      lastName: "Lovelace",
      address1: "45 Marylebone High Street",
      city: "London",
      postalCode: "W1U 5HG",
      country: "GB",
    },
    payment: { type: "stripe", stripe: { result: { paymentMethod } } },
    country: "GB",
    checkoutId: `basket-${randomUUID()}`,
    orderDate: new Date().toISOString(),
  };
}
