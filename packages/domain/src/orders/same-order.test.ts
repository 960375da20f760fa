import { describe, expect, it } from "vitest";
import { canonicalJson, sameOrder } from "./same-order.ts";

const order = {
  order_type: "cancel_subscription",
  subscriptionId: "sub-1",
  external_id: "X",
  reason: "moving",
};

describe("sameOrder", () => {
  it("ignores key order and process_immediately, and unwraps a recorded message body", () => {
    const reordered = {
      reason: "moving",
      external_id: "X",
      subscriptionId: "sub-1",
      order_type: "cancel_subscription",
    };
    expect(canonicalJson(order)).toBe(canonicalJson(reordered));
    expect(sameOrder(order, { ...reordered, process_immediately: true })).toBe(true);
    expect(sameOrder({ orderId: "order-1", order }, order)).toBe(true);
  });

  it("tells a changed order apart", () => {
    expect(sameOrder(order, { ...order, reason: "price" })).toBe(false);
    expect(sameOrder(order, { ...order, extra: { nested: [1, 2] } })).toBe(false);
  });
});
