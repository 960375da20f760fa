import type { OrderOutcomeV1 } from "@bridge/domain";
import { describe, expect, it } from "vitest";
import { limioAddressChange } from "./order-outcome.ts";

const outcome = (addressType?: OrderOutcomeV1["addressType"]): OrderOutcomeV1 => ({
  orderId: "order-5c3d83c60950014c306865f0ab8c499b",
  subscriptionId: "sub-5c3d83c60950014c306865f0ab8c499b",
  orderType: "change_address",
  status: "applied",
  action: "address_updated",
  stripe: {},
  ...(addressType ? { addressType } : {}),
  completedAt: "2026-12-03T10:00:00.000Z",
});
const york = { firstName: "Ada", lastName: "Lovelace", address1: "1 High St", city: "York", country: "GB" };
const hull = { firstName: "Grace", lastName: "Hopper", address1: "1 Dock Road", city: "Hull", country: "GB" };

describe("limioAddressChange: the Limio rows an applied change_address changes, as in Stripe", () => {
  it("an order without a type gets the type the writer applied (its configured default), not billing", () => {
    const change = limioAddressChange({ order_type: "change_address", address: hull }, outcome("delivery"));
    expect(change).toEqual({ type: "delivery", delivery: hull });
  });

  it("type all with separate details: billingDetails to the billing row, deliveryDetails to the delivery row", () => {
    const change = limioAddressChange(
      { order_type: "change_address", type: "all", billingDetails: york, deliveryDetails: hull },
      outcome("all"),
    );
    expect([change.billing?.city, change.delivery?.city]).toEqual(["York", "Hull"]);
  });

  it("deliveryDetails alone: the delivery row only", () => {
    const change = limioAddressChange({ order_type: "change_address", deliveryDetails: hull }, outcome());
    expect(change).toEqual({ type: "delivery", delivery: hull });
  });

  it("an outcome from a writer that did not report the type: the order's type", () => {
    const change = limioAddressChange(
      { order_type: "change_address", type: "all", address: york },
      outcome(),
    );
    expect(change).toEqual({ type: "all", billing: york, delivery: york });
  });
});
