import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseLimioOrder } from "./parse-limio-order.ts";

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../../../test/fixtures/limio/${name}`, import.meta.url), "utf8"));

const SUB = "sub-5c3d83c60950014c306865f0ab8c499b";

describe("Limio order fixtures", () => {
  it("new.json parses, keeps unknown fields and lifts the Stripe payment method", () => {
    const r = parseLimioOrder(fixture("new.json"));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.order.order_type).toBe("new");
    if (r.order.order_type !== "new") return;
    expect(r.order.email).toBe("ada.lovelace@example.com");
    expect(r.order.stripePayment).toEqual({ paymentMethodId: "pm_1Pgc75B7WZ01zgkWlHVgdEGJ" });
    expect(r.order.orderItems[0]!.offer.id).toBe("f9a4695c077b2d1446d4fd8ebfd071b428e90899");
    expect(r.order).toHaveProperty("tracking.campaign", "autumn-2026");
    expect(r.order).toHaveProperty("__spec_version", "2");
    expect(r.order).toHaveProperty("customerDetails.marketingPrefs.email", true);
  });

  it.each([
    ["cancel_subscription.json", "cancel_subscription"],
    ["change_address.json", "change_address"],
    ["change_payment.json", "change_payment"],
    ["change_offer.json", "change_offer"],
  ])("%s parses and names its subscription once", (file, type) => {
    const r = parseLimioOrder(fixture(file));
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.order.order_type).toBe(type);
    expect(r.order).toHaveProperty("subscriptionId", SUB);
  });

  it("cancel_subscription.json lifts the survey reason", () => {
    const r = parseLimioOrder(fixture("cancel_subscription.json"));
    expect(r.ok && r.order.order_type === "cancel_subscription" && r.order.reason).toEqual({
      id: "too_expensive",
      feedback: "Reading less since moving abroad",
    });
  });

  it("malformed-new.json yields an error naming the missing field", () => {
    const r = parseLimioOrder(fixture("malformed-new.json"));
    expect(r).toEqual({
      ok: false,
      code: "invalid_order",
      errors: [{ path: "orderItems.0.offer.id", message: expect.stringMatching(/string/) }],
    });
  });

  it("unsupported-renew.json is refused with the supported list", () => {
    const r = parseLimioOrder(fixture("unsupported-renew.json"));
    expect(r).toEqual({
      ok: false,
      code: "unsupported_order_type",
      errors: [
        {
          path: "order_type",
          message:
            "unsupported order_type 'renew'; supported: new, cancel_subscription, change_address, change_payment, change_offer",
        },
      ],
    });
  });
});
